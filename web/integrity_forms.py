"""The integrity pages' forms: they check the input's shape (400 naming the field); the services judge
the rules (a high risk's process map, a finding's deadline) and the state (409)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from tracker.integrity.models import CheckResult, ListKind, Post, RiskLevel

from .forms import TEXT_MAX, DeadlineField, TextGuardedForm
from .labels import CHECK_RESULT, LEVEL, LIST_KIND, POST

PROCESS_STEPS = 8  # rows of the process-map editor (the seed's longest map has 5 steps)
MEASURES_MAX = 50


def _choices(values, labels) -> list[tuple[str, Any]]:
    return [(value, labels[value]) for value in values]


class ListItemForm(TextGuardedForm):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    list = forms.ChoiceField(label=_("List"), choices=_choices(ListKind.values, LIST_KIND))
    code = forms.CharField(label=_("Code"), max_length=32)
    title = forms.CharField(label=_("Title"), max_length=300)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    basis = forms.CharField(
        label=_("Basis"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class ListItemEditForm(TextGuardedForm):
    code = forms.CharField(label=_("Code"), max_length=32)
    title = forms.CharField(label=_("Title"), max_length=300)
    category = forms.CharField(label=_("Category"), max_length=100, required=False)
    basis = forms.CharField(
        label=_("Basis"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RiskPointForm(TextGuardedForm):
    """A risk point: one prevention measure per line; the process map as up to PROCESS_STEPS rows of
    step, role and "control step"."""

    item = forms.ModelChoiceField(label=_("List item"), queryset=None)
    post = forms.ChoiceField(label=_("Post"), choices=_choices(Post.values, POST))
    level = forms.ChoiceField(label=_("Risk level"), choices=_choices(RiskLevel.values, LEVEL))
    description = forms.CharField(label=_("Risk point"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))
    measures = forms.CharField(
        label=_("Prevention measures (one per line)"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items
        for n in range(1, PROCESS_STEPS + 1):
            self.fields[f"step_{n}"] = forms.CharField(label=_("Step %(n)s") % {"n": n}, max_length=300, required=False)
            self.fields[f"role_{n}"] = forms.CharField(label=_("Role"), max_length=100, required=False)
            self.fields[f"control_{n}"] = forms.BooleanField(label=_("Control step"), required=False)

    def step_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [(self[f"step_{n}"], self[f"role_{n}"], self[f"control_{n}"]) for n in range(1, PROCESS_STEPS + 1)]

    def clean_measures(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["measures"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Write at least one prevention measure."))
        if len(lines) > MEASURES_MAX:
            raise forms.ValidationError(_("At most %(n)s measures.") % {"n": MEASURES_MAX})
        return lines

    def clean(self):
        data = super().clean()
        steps = []
        for n in range(1, PROCESS_STEPS + 1):
            step, role = (data.get(f"step_{n}") or "").strip(), (data.get(f"role_{n}") or "").strip()
            if not step and not role:
                continue
            if not step or not role:
                self.add_error(f"step_{n}", _("A step needs both what is done and who does it."))
                continue
            steps.append({"step": step, "role": role, "control": bool(data.get(f"control_{n}"))})
        data["process_map"] = steps
        return data

    @classmethod
    def initial_of(cls, risk) -> dict[str, Any]:
        initial = {
            "item": risk.item_id,
            "post": risk.post,
            "level": risk.level,
            "description": risk.description,
            "measures": "\n".join(risk.measures),
        }
        for n, step in enumerate(risk.process_map[:PROCESS_STEPS], start=1):
            initial.update({f"step_{n}": step["step"], f"role_{n}": step["role"], f"control_{n}": step["control"]})
        return initial


class ReturnRegisterForm(TextGuardedForm):
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class CampaignForm(TextGuardedForm):
    authority = forms.ModelChoiceField(label=_("Authority"), queryset=None, empty_label=None)
    title = forms.CharField(label=_("Title"), max_length=200)
    lists = forms.MultipleChoiceField(
        label=_("Lists"), choices=_choices(ListKind.values, LIST_KIND), widget=forms.CheckboxSelectMultiple
    )
    due_at = DeadlineField(label=_("Deadline"))

    def __init__(self, *args, authorities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["authority"].queryset = authorities


class CheckForm(TextGuardedForm):
    """One check's result; a finding carries its description and the deadline to put it right."""

    result = forms.ChoiceField(label=_("Result"), choices=_choices(CheckResult.values, CHECK_RESULT))
    note = forms.CharField(label=_("Note"), max_length=TEXT_MAX, required=False)
    description = forms.CharField(
        label=_("What was found"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    rectify_by = DeadlineField(label=_("Rectify by"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("result") == CheckResult.FINDING:
            if not (data.get("description") or "").strip():
                self.add_error("description", _("Describe what was found."))
            if data.get("rectify_by") is None and "rectify_by" not in self.errors:
                self.add_error("rectify_by", _("Set the deadline to put it right."))
        return data

    def finding(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if data["result"] != CheckResult.FINDING:
            return None
        return {"description": data["description"], "rectify_by": data["rectify_by"]}
