"""SIP2 (3M Standard Interchange Protocol 2.00) for self-check kiosks: the message codec first."""
