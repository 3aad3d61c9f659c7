"""A closed dossier's package in TT 05/2025/TT-BNV form (AIP to keep, SIP to hand over); see build."""
