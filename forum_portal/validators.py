"""
Field validation shared by every write path: the admin's forms and the imports.

The admin runs a model's field validators through ``full_clean()`` and its form fields refuse
NUL characters; the importer writes with ``bulk_create``, which runs neither. So the models
carry the validators (``http_url``) and the importer checks each value with ``field_problems``,
which runs the same validators a form field of that model field would: NUL characters, the
model field's ``max_length`` and its own validators (URLs: http and https only).
"""

from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator, URLValidator

# Links readers follow: ``javascript:``, ``data:`` and other schemes would run or smuggle code.
http_url = URLValidator(schemes=["http", "https"])
no_null_characters = ProhibitNullCharactersValidator()


def field_problems(model_field, value):
    """Return the messages of what is wrong with text ``value`` for ``model_field`` (or [])."""
    try:
        no_null_characters(value)
    except ValidationError as exc:
        return list(exc.messages)  # the other validators would only repeat the text
    if model_field is None:
        return []
    try:
        model_field.run_validators(value)
    except ValidationError as exc:
        # A URLField runs its own URL validator and ``http_url``: one message is enough.
        return list(dict.fromkeys(exc.messages))
    return []
