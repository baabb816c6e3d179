"""Files a person reads that the server makes: spreadsheets, printed forms, e-mails.

Their words come from the catalogue under ``locales/<language>/<area>.json`` (zh-CN
first, English second), as the screens' words come from web/src/locales.
"""
