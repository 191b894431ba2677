"""The Windows PowerShell 5.1 judge: see judge.py and README.md here."""
