"""Forms of the public pages: a reader's report that something on a position's page is wrong."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CorrectionRequest


class CorrectionRequestForm(forms.ModelForm):
    """What is wrong (required, at most 2000 characters) and an optional email address.

    ``website`` is a honeypot: people never see it (a CSS class moves it off screen, and it is
    hidden from screen readers and the tab order), form-filling robots do. The view treats a
    filled one as spam; see ``is_spam``.
    """

    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    class Meta:
        model = CorrectionRequest
        fields = ["message", "email"]
        labels = {
            "message": _("What is wrong?"),
            "email": _("Your email address (optional)"),
        }
        help_texts = {
            "message": _(
                "For example a word that differs from the source, a wrong role or institution, "
                "or a quotation filed under the wrong theme. Say where the right version can be "
                "found, if you know."
            ),
            "email": _("Only if you would like an answer. It is used for nothing else."),
        }
        widgets = {
            "message": forms.Textarea(attrs={"rows": 6}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    @property
    def is_spam(self):
        """Return True when the honeypot was filled in (read from the raw data, valid or not)."""
        return bool(self.data.get(self.add_prefix("website"), "").strip())

    def save_for(self, position):
        """Store the report about ``position``, with a copy of its text as the reader saw it."""
        self.instance.position = position
        self.instance.position_text = position.text
        return self.save()

    save_for.alters_data = True
