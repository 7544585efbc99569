"""Every string shown to people is marked for translation.

Templates: whatever text is left once the template language, the markup and the
marked strings are taken out must be no word at all, or one of the few names that
stay as they are in every language (header names, S3's own terms). Python: what
views and forms hand to people (messages, form labels and help, validation errors,
choice labels) is never a bare string literal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["console", "buckets", "objects"]

# Words that are the same on a Chinese page: protocol and header names, S3's own
# terms and units.
KEPT = set(
    """
    ACL API ARN AWS B Referer CORS COS CSV Cache Ceph Content Control Disposition ETag Encoding
    Expires GiB HTTP HTTPS ID JSON KiB KMS Language MD5 MiB MinIO OSS Range S3 SSE
    SSE-S3 AES256 TiB Type UTC URL XML ZOS amz meta x English http https curl Unix
    """.split()
)
TEMPLATE_LANGUAGE = [
    re.compile(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S),
    re.compile(r"\{#.*?#\}", re.S),
    # A block that fills in a class attribute (`{% block main_class %}wide{% endblock %}`).
    re.compile(r"\{%\s*block\s+\w*class\s*%\}.*?\{%\s*endblock\b.*?%\}", re.S),
    re.compile(r"\{%\s*blocktrans(late)?\b.*?\{%\s*endblocktrans(late)?\s*%\}", re.S),
    re.compile(r"\{%.*?%\}", re.S),
    re.compile(r"\{\{.*?\}\}", re.S),
    re.compile(r"<script\b.*?</script>", re.S),
    re.compile(r"<style\b.*?</style>", re.S),
    re.compile(r"<code>.*?</code>", re.S),  # names of things: keys, headers, ids
]
# Attributes read out or shown to people.
SHOWN_ATTRIBUTES = re.compile(
    r"""\b(title|placeholder|aria-label|alt|aria-valuetext)\s*=\s*("[^"]*"|'[^']*')"""
)
TAG = re.compile(r"<[^>]*>", re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
# Attributes outside a tag: a fragment included inside one (buckets/_post.html).
ATTRIBUTE = re.compile(r"""[\w-]+=("[^"]*"|'[^']*')""")
# Example addresses and domains, the same in every language.
ADDRESS = re.compile(r"\b(https?://\S+|[\w-]+(\.[\w-]+)+)")


def words_left(text: str) -> list[str]:
    text = ADDRESS.sub(" ", text)
    return [w for w in WORD.findall(text) if not set(w.strip("-").split("-")) <= KEPT]


def unmarked_in_template(source: str) -> list[str]:
    for pattern in TEMPLATE_LANGUAGE:
        source = pattern.sub(" ", source)
    found = []
    for _name, value in SHOWN_ATTRIBUTES.findall(source):
        found += words_left(value.strip("\"'"))
    text = ATTRIBUTE.sub(" ", TAG.sub(" ", source)).replace("&nbsp;", " ")
    text = re.sub(r"&\w+;|&#\d+;", " ", text)
    return found + words_left(text)


def templates() -> list:
    return [
        pytest.param(path, id=str(path.relative_to(ROOT)))
        for path in sorted((ROOT / "templates").rglob("*.html"))
    ]


@pytest.mark.parametrize("path", templates())
def test_every_word_a_template_shows_is_marked_for_translation(path):
    assert unmarked_in_template(path.read_text()) == []


def test_the_template_check_finds_an_unmarked_word():
    # What it must catch, and what it must let through.
    assert unmarked_in_template("<p>Hello {{ name }}</p>") == ["Hello"]
    assert unmarked_in_template('<a title="Open it">{% translate "Go" %}</a>') == ["Open", "it"]
    assert unmarked_in_template("{% blocktranslate %}Hi {{ x }}{% endblocktranslate %}") == []
    assert unmarked_in_template("<dt>Cache-Control</dt><dd>{{ v }}</dd>") == []


# Calls whose text argument reaches a person.
MESSAGE_CALLS = {"debug", "info", "success", "warning", "error"}
TEXT_KEYWORDS = {"label", "help_text", "empty_label", "verbose_name", "message"}
HIDDEN_WIDGETS = {"HiddenInput", "MultipleHiddenInput"}


def is_bare_text(node: ast.AST) -> bool:
    """A string literal (or f-string) with a word in it, not wrapped in a gettext call."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and WORD.search(str(v.value)) for v in node.values)
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(words_left(node.value))
    )


def call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def is_form_field(node: ast.Call) -> bool:
    """Django's form fields and ours (KeyField, HeaderField…), by their names."""
    func = node.func
    if isinstance(func, ast.Attribute) and ast.unparse(func.value) == "models":
        return False  # a model's column: forms name their own labels
    return call_name(node).endswith("Field")


def hidden(node: ast.Call) -> bool:
    for keyword in node.keywords:
        if keyword.arg == "widget":
            text = ast.unparse(keyword.value)
            return any(name in text for name in HIDDEN_WIDGETS)
    return False


def eager_gettext_names(tree: ast.Module) -> set[str]:
    """The names this module imports Django's eager gettext (or ngettext) as."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            for alias in node.names:
                if alias.name in ("gettext", "ngettext", "pgettext"):
                    names.add(alias.asname or alias.name)
    return names


# The names `makemessages` tells xgettext to look for: a string marked through any
# other name (`gettext_lazy as _l`) is never extracted, so never translated.
EXTRACTED = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}


def unextracted_aliases(tree: ast.Module) -> list[str]:
    return [
        f"line {node.lineno}: {alias.name} as {alias.asname} (xgettext does not see it)"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for alias in node.names
        if alias.asname and alias.asname not in EXTRACTED
    ]


def import_time_calls(tree: ast.Module):
    """Calls run once when the module is imported: at module level and in class bodies."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def unmarked_in_python(source: str) -> list[str]:
    found = []
    tree = ast.parse(source)
    eager = eager_gettext_names(tree)
    found += unextracted_aliases(tree)
    # Field classes of ours that name their own label.
    self_labelled = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and re.search(r"""setdefault\(['"]label""", ast.unparse(node))
    }
    for node in import_time_calls(tree):
        if call_name(node) in eager and isinstance(node.func, ast.Name):
            found.append(f"line {node.lineno}: {ast.unparse(node)[:80]} (translated at import)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = call_name(node)
            where = f"line {node.lineno}: {ast.unparse(node)[:80]}"
            if (
                name in MESSAGE_CALLS
                and isinstance(node.func, ast.Attribute)
                and ast.unparse(node.func.value) == "messages"
                and len(node.args) > 1
                and is_bare_text(node.args[1])
            ):
                found.append(where)
            if (name == "ValidationError" and node.args and is_bare_text(node.args[0])) or (
                name == "add_error" and node.args and is_bare_text(node.args[-1])
            ):
                found.append(where)
            if any(k.arg in TEXT_KEYWORDS and is_bare_text(k.value) for k in node.keywords):
                found.append(where)
            for keyword in node.keywords:
                if keyword.arg == "choices" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                    for choice in keyword.value.elts:
                        if isinstance(choice, ast.Tuple) and is_bare_text(choice.elts[-1]):
                            found.append(f"{where} (a choice)")
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                value = getattr(item, "value", None)
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(value, ast.Call)
                    and is_form_field(value)
                    and call_name(value) not in self_labelled
                    and not hidden(value)
                    and not any(k.arg == "label" for k in value.keywords)
                ):
                    found.append(
                        f"line {item.lineno}: {ast.unparse(item)[:80]} (labelled from its name)"
                    )
        if isinstance(node, ast.Dict):  # a widget's attrs
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value in ("placeholder", "title", "aria-label", "alt")
                    and is_bare_text(value)
                ):
                    found.append(f"line {node.lineno}: {key.value} {ast.unparse(value)[:60]}")
        if isinstance(node, ast.ClassDef):
            found += unlabelled_model_form_fields(node)
        if isinstance(node, ast.ClassDef) and any(
            ast.unparse(base).endswith("Choices") for base in node.bases
        ):
            for item in node.body:
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(item.value, ast.Tuple)
                    and is_bare_text(item.value.elts[-1])
                ):
                    found.append(f"line {item.lineno}: {node.name}.{ast.unparse(item.targets[0])}")
    return found


def unlabelled_model_form_fields(form: ast.ClassDef) -> list[str]:
    """A ModelForm's fields taken from the model need a label in Meta.labels."""
    declared = {
        t.id
        for item in form.body
        if isinstance(item, ast.Assign)
        for t in item.targets
        if isinstance(t, ast.Name)
    }
    for meta in form.body:
        if not (isinstance(meta, ast.ClassDef) and meta.name == "Meta"):
            continue
        settings = {
            item.targets[0].id: item.value
            for item in meta.body
            if isinstance(item, ast.Assign) and isinstance(item.targets[0], ast.Name)
        }
        fields = settings.get("fields")
        if not isinstance(fields, (ast.List, ast.Tuple)):
            return []
        labels = settings.get("labels")
        named = {k.value for k in labels.keys} if isinstance(labels, ast.Dict) else set()
        return [
            f"line {meta.lineno}: {form.name}.{f.value} (labelled from the model)"
            for f in fields.elts
            if isinstance(f, ast.Constant) and f.value not in declared | named
        ]
    return []


def modules() -> list:
    return [
        pytest.param(path, id=str(path.relative_to(ROOT)))
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


@pytest.mark.parametrize("path", modules())
def test_every_string_python_hands_to_people_is_marked_for_translation(path):
    assert unmarked_in_python(path.read_text()) == []


def test_the_python_check_finds_unmarked_strings():
    source = """
from django import forms
class F(forms.Form):
    a = forms.CharField()
    b = forms.CharField(label=_("B"), help_text="Plain words")
    c = forms.CharField(widget=forms.HiddenInput)
    d = forms.ChoiceField(label=_("D"), choices=[("x", "Ex")])
    f = forms.CharField(label=_("F"), widget=forms.TextInput(attrs={"placeholder": "For example"}))
def view(request):
    messages.success(request, "Saved.")
    messages.success(request, _("Saved."))
    raise ValidationError(f"Bad {x}")
from django.utils.translation import gettext
class G(forms.Form):
    e = forms.CharField(label=gettext("Eager"))
    def clean_e(self):
        return gettext("Fine at run time")
from django.utils.translation import gettext_lazy as _l
class M(forms.ModelForm):
    a = forms.CharField(label=_("A"))
    class Meta:
        fields = ["a", "b", "c"]
        labels = {"b": _("B")}
class State(models.TextChoices):
    ON = "on", "On"
    OFF = "off", _("Off")
"""
    found = unmarked_in_python(source)
    assert len(found) == 10, found
    assert any("placeholder 'For example'" in line for line in found)
    assert any("_l (xgettext does not see it)" in line for line in found)
    assert any("M.c (labelled from the model)" in line for line in found)
    assert any("translated at import" in line and "Eager" in line for line in found)
    assert any("labelled from its name" in line for line in found)
    assert any("State.ON" in line for line in found)
