"""smtp2graph: find SMTP AUTH mail senders in PowerShell and migrate them to Microsoft Graph."""

__version__ = "0.1.0"
