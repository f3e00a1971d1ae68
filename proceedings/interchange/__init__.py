"""
Forums in and out as data: the ``forum-portal/1`` documents (``documents``: field rules,
validation, the all-or-nothing import and the export), spreadsheets of positions converted to
and from those documents (``spreadsheet``), and the comparison of names that matches people and
institutions across imports and merges duplicates (``merging``).

Every write path (the admin's upload, ``manage.py import_forum``, the bundled data, assisted
curation) goes through ``documents.import_forum_data``, so each runs the same validation.
"""
