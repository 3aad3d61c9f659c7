"""Copies for use (TT 05/2025/TT-BNV on using digital archives): a read copy shown in the viewer
only, a downloadable copy stamped "BẢN SAO", and an authenticated copy (bản sao có xác thực)
signed with the school's seal. The original is never touched: every copy is a new object."""
