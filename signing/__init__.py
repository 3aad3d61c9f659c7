"""Monthly approval signing (PAdES/CAdES via pyHanko): built on archive/ in its own issue."""
