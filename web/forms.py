"""The pages' forms: they validate input (400 with the field named) before a service judges the state.

Field names are the contract's (sections 6 and 9): `progress`, `note`, `file`, `deductions`, `comment`,
`reason`, `rework_due_at`, `due_at`, `school`, `message`, `respond_by`, `response`; a round's `kind`,
`held_on`, `inspectors`, `summary` (and its one target: `target_kind`, `target_name`, `school`); a case's
`status` and `disposition`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tracker.inspections.models import InspectionKind, TargetKind
from tracker.models import TaskStatus, Unit
from tracker.text import multi_line, single_line

from .labels import INSPECTION_KIND, STATUS, TARGET_KIND

TEXT_MAX = 5000


class DeadlineField(forms.Field):
    """A deadline typed as a date (the end of that day, 23:59:59, in TIME_ZONE) or a date and time.

    Between 2000 and 2100, like the API's deadlines: anything else is a typo.
    """

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)
    widget = forms.DateInput(attrs={"type": "date"})
    default_error_messages = {
        "invalid": _("Enter a date (YYYY-MM-DD)."),
        "out_of_range": _("Enter a date between 2000 and 2099."),
    }

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip()
        try:
            if len(text) == 10:
                moment = timezone.make_aware(datetime.combine(date.fromisoformat(text), time(23, 59, 59)))
            else:
                moment = datetime.fromisoformat(text)
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not self.EARLIEST <= moment < self.LATEST:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return moment


class TextGuardedForm(forms.Form):
    """Every form of the pages: control characters are refused in every text field (tracker/text.py), as
    the API and the models refuse them; a textarea keeps its line breaks and tabs."""

    def full_clean(self) -> None:
        # Here rather than in __init__, so that fields a form adds in its own __init__ are guarded too.
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                guard = multi_line if isinstance(field.widget, forms.Textarea) else single_line
                if guard not in field.validators:
                    field.validators = [*field.validators, guard]
        super().full_clean()


def _text(label, *, required: bool = True, rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": rows})
    )


class ProgressForm(TextGuardedForm):
    progress = forms.IntegerField(label=_("Progress (%)"), min_value=0, max_value=100)
    note = _text(_("Note"), required=False, rows=2)


class UploadForm(TextGuardedForm):
    file = forms.FileField(label=_("Evidence file"))


class EvidenceDeleteForm(TextGuardedForm):
    evidence = forms.IntegerField(min_value=1)


class ApproveForm(TextGuardedForm):
    deductions = forms.MultipleChoiceField(label=_("Deductions"), required=False, widget=forms.CheckboxSelectMultiple)
    comment = _text(_("Comment"), required=False, rows=2)

    def __init__(self, *args, rules: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deductions"].choices = [
            (rule["code"], f"{rule['code']} {rule.get('description', '')} (−{rule['points']})") for rule in rules
        ]


class ReturnForm(TextGuardedForm):
    reason = _text(_("Reason"))
    rework_due_at = DeadlineField(label=_("Rework deadline"), required=False)


class ExtendForm(TextGuardedForm):
    due_at = DeadlineField(label=_("New deadline"))
    reason = _text(_("Reason"), rows=2)


class UrgeForm(TextGuardedForm):
    school = forms.ModelChoiceField(label=_("School"), queryset=Unit.objects.none())
    message = _text(_("Message"), rows=4)
    respond_by = DeadlineField(label=_("Answer by"))

    def __init__(self, *args, schools, shown, **kwargs):
        """`schools`: every school the supervisor may urge (validation); `shown`: the ones listed."""
        super().__init__(*args, **kwargs)
        field = self.fields["school"]
        field.queryset = schools
        field.widget.choices = [("", "—"), *((school.pk, school.name) for school in shown)]


class RespondForm(TextGuardedForm):
    response = _text(_("Your answer"), rows=3)


STATUS_FILTERS = [
    ("", _("All")),
    ("overdue", _("Overdue")),
    ("at_risk", _("At risk")),
    *((code, STATUS[code]) for code in TaskStatus.values),
]


class TaskFilterForm(TextGuardedForm):
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTERS, required=False)


class YearForm(TextGuardedForm):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2099, required=False)


class InspectionForm(TextGuardedForm):
    """A round with the one target the page records (the API takes a list)."""

    kind = forms.ChoiceField(label=_("Kind of round"), choices=[(c, INSPECTION_KIND[c]) for c in InspectionKind.values])
    held_on = forms.DateField(label=_("Held on"), widget=forms.DateInput(attrs={"type": "date"}))
    inspectors = forms.IntegerField(label=_("Inspectors"), min_value=1, max_value=10_000)
    target_kind = forms.ChoiceField(label=_("Visited"), choices=[(c, TARGET_KIND[c]) for c in TargetKind.values])
    target_name = forms.CharField(label=_("Name of the place"), max_length=200, required=False)
    school = forms.ModelChoiceField(label=_("School"), queryset=Unit.objects.none(), required=False)
    summary = _text(_("Summary"), required=False, rows=3)

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools

    def clean(self):
        data = super().clean()
        kind, school, name = data.get("target_kind"), data.get("school"), (data.get("target_name") or "").strip()
        if kind == TargetKind.SCHOOL and school is None:
            self.add_error("school", _("Choose the school visited."))
        if kind and kind != TargetKind.SCHOOL:
            if school is not None:
                self.add_error("school", _("Only a visit to a school names a school."))
            if not name:
                self.add_error("target_name", _("Name the place visited."))
        return data


class CaseStatusForm(TextGuardedForm):
    status = forms.ChoiceField(label=_("Next step"), choices=[])

    def __init__(self, *args, allowed: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = allowed


class DispositionForm(TextGuardedForm):
    disposition = _text(_("Disposition"), rows=3)


class CaseRectifyForm(TextGuardedForm):
    """A rectification the case orders its school; `campaigns`: the authority's active ones to choose from."""

    description = _text(_("What the school must put right"), rows=3)
    rectify_by = DeadlineField(label=_("Put right by"))
    campaign = forms.TypedChoiceField(label=_("Campaign"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, campaigns: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", _("The year's case rectifications")), *campaigns]


# --- Deadline fairness (CONTRACT section 7) -----------------------------------------------------------
class ExtensionRequestForm(TextGuardedForm):
    requested_due_at = DeadlineField(label=_("Requested deadline"))
    reason = _text(_("Reason"), rows=2)


class AppealForm(TextGuardedForm):
    reason = _text(_("Reason"), rows=2)
    contested = forms.MultipleChoiceField(label=_("Contested"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, applied: list[tuple[str, str]], **kwargs):
        """`applied`: (code, what it says) of what the task's ledger applies now: rules and the late penalty."""
        super().__init__(*args, **kwargs)
        self.fields["contested"].choices = applied


class ExtensionDecisionForm(TextGuardedForm):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.RadioSelect
    )
    due_at = DeadlineField(label=_("Another deadline (optional)"), required=False)
    comment = _text(_("Comment"), rows=2)


class AppealDecisionForm(TextGuardedForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("uphold", _("Uphold")),
            ("amend", _("Amend")),
        ],
        widget=forms.RadioSelect,
    )
    deductions = forms.MultipleChoiceField(
        label=_("Deductions that apply"), required=False, widget=forms.CheckboxSelectMultiple
    )
    waive_late_penalty = forms.BooleanField(label=_("Waive the late penalty"), required=False)
    comment = _text(_("Comment"), rows=2)

    def __init__(self, *args, rules: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deductions"].choices = [
            (rule["code"], f"{rule['code']} {rule.get('description', '')} (−{rule['points']})") for rule in rules
        ]
