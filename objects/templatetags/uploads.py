"""`{% upload_panel endpoint bucket prefix %}`: the upload panel on any page.

The object listing can include it so files dropped on it are uploaded into the
current prefix; the panel brings its own options form.
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("objects/_upload_panel.html")
def upload_panel(endpoint, bucket, prefix=""):
    from objects.uploads import UploadForm

    return {
        "endpoint": endpoint,
        "bucket": bucket,
        "prefix": prefix,
        "form": UploadForm(endpoint=endpoint, initial={"prefix": prefix}),
    }
