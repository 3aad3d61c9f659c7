"""Retention under the Archives Law (schedule, holds, disposition, fixity, transfer): its own issue."""
