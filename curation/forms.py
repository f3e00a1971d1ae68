from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from proceedings.models import Position

from .extraction import MAX_UPLOAD_BYTES


class NewForumForm(forms.Form):
    forum_name = forms.CharField(label=gettext_lazy("Forum name"), max_length=300)
    forum_year = forms.IntegerField(label=gettext_lazy("Year"), min_value=1900, max_value=2100)
    title = forms.CharField(label=gettext_lazy("Report title"), max_length=500)
    author = forms.CharField(label=gettext_lazy("Report author"), max_length=300, required=False)
    publisher = forms.CharField(
        label=gettext_lazy("Report publisher"), max_length=300, required=False
    )
    file = forms.FileField(
        label=gettext_lazy("Report file"),
        required=False,
        help_text=gettext_lazy(
            "Plain text, Markdown, HTML (a saved web page), DOCX or PDF; at most 20 MB."
        ),
    )
    text = forms.CharField(
        label=gettext_lazy("Or paste the text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {
                    "size": round(upload.size / (1024 * 1024)),
                    "limit": MAX_UPLOAD_BYTES // (1024 * 1024),
                }
            )
        return upload

    def clean(self):
        data = super().clean()
        if not data.get("file") and not (data.get("text") or "").strip() and not self.errors:
            raise ValidationError(_("Upload the report or paste its text."))
        return data


class EditProposalForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Text"), required=False, widget=forms.Textarea)
    start = forms.IntegerField(label=gettext_lazy("Start"), min_value=0, required=False)
    end = forms.IntegerField(label=gettext_lazy("End"), min_value=1, required=False)
    speaker = forms.IntegerField(label=gettext_lazy("Speaker"), required=False)
    fidelity = forms.ChoiceField(
        label=gettext_lazy("Fidelity"), choices=Position.Fidelity.choices, required=False
    )
