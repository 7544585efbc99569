"""Provider presets and the limits that differ between providers.

This is the one table forms, views and tasks read; templates never hard-code a
provider's limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    AWS = "aws", _("AWS S3")
    COS = "cos", _("Tencent COS")
    OSS = "oss", _("Aliyun OSS")
    ZOS = "zos", _("China Telecom ZOS")
    CEPH = "ceph", _("Ceph RGW")
    MINIO = "minio", _("MinIO")
    OTHER = "other", _("Other S3-compatible")


class Addressing(models.TextChoices):
    AUTO = "auto", _("Automatic")
    VIRTUAL = "virtual", _("Virtual-hosted (bucket.host)")
    PATH = "path", _("Path (host/bucket)")


@dataclass(frozen=True)
class Preset:
    provider: str
    # A format string for the endpoint URL with {region}; "" means "any URL".
    endpoint_template: str = ""
    internal_template: str = ""
    # What a valid endpoint URL of this provider looks like ("" means any http(s) URL).
    # A group named "region" says which region the URL serves; it must match the form's.
    endpoint_pattern: str = ""
    endpoint_example: str = ""
    default_region: str = "us-east-1"
    fixed_region: str = ""
    region_example: str = ""
    addressing: tuple[str, ...] = (Addressing.AUTO, Addressing.VIRTUAL, Addressing.PATH)
    default_addressing: str = Addressing.PATH
    # boto3 >= 1.36 sends CRC checksums by default that several S3-compatible
    # services reject; every non-AWS preset asks for them only when required.
    checksums_when_required: bool = True
    storage_classes: tuple[str, ...] = ("STANDARD",)
    archive_classes: tuple[str, ...] = ()
    # The listing can ask for each object's restore status in the same call
    # (ListObjectsV2 with OptionalObjectAttributes=RestoreStatus). Only AWS
    # documents the parameter, and other services may refuse a listing that sends it.
    lists_restore_status: bool = False
    restore_tiers: tuple[tuple[str, str], ...] = ()
    restore_days: tuple[int, int] = (1, 365)
    bucket_suffix_hint: str = ""
    max_buckets: int | None = None
    object_tag_limit: int = 10
    bucket_tag_limit: int = 50
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def region_fixed(self) -> bool:
        return bool(self.fixed_region)

    def endpoint_for(self, region: str, internal: bool = False) -> str:
        template = self.internal_template if internal and self.internal_template else None
        template = template or self.endpoint_template
        if not template or "{" not in template:
            return template
        return template.format(region=region)


PRESETS: dict[str, Preset] = {
    Provider.AWS: Preset(
        provider=Provider.AWS,
        default_region="us-east-1",
        region_example="eu-west-1",
        addressing=(Addressing.AUTO, Addressing.VIRTUAL, Addressing.PATH),
        default_addressing=Addressing.VIRTUAL,
        checksums_when_required=False,
        storage_classes=(
            "STANDARD",
            "INTELLIGENT_TIERING",
            "STANDARD_IA",
            "ONEZONE_IA",
            "GLACIER_IR",
            "GLACIER",
            "DEEP_ARCHIVE",
            "REDUCED_REDUNDANCY",
        ),
        archive_classes=("GLACIER", "DEEP_ARCHIVE"),
        lists_restore_status=True,
        restore_tiers=(
            ("Expedited", _("1–5 minutes")),
            ("Standard", _("3–5 hours")),
            ("Bulk", _("5–12 hours")),
        ),
        restore_days=(1, 30000),
    ),
    Provider.COS: Preset(
        provider=Provider.COS,
        endpoint_template="https://cos.{region}.myqcloud.com",
        endpoint_pattern=r"^https?://cos\.(?P<region>[a-z0-9-]+)\.myqcloud\.com/?$",
        endpoint_example="https://cos.ap-guangzhou.myqcloud.com",
        default_region="ap-guangzhou",
        region_example="ap-guangzhou",
        addressing=(Addressing.VIRTUAL,),
        default_addressing=Addressing.VIRTUAL,
        storage_classes=(
            "STANDARD",
            "STANDARD_IA",
            "INTELLIGENT_TIERING",
            "ARCHIVE",
            "DEEP_ARCHIVE",
            "MAZ_STANDARD",
            "MAZ_STANDARD_IA",
        ),
        archive_classes=("ARCHIVE", "DEEP_ARCHIVE"),
        restore_tiers=(
            ("Expedited", _("about 15 minutes")),
            ("Standard", _("3–5 hours")),
            ("Bulk", _("5–12 hours")),
        ),
        restore_days=(1, 365),
        bucket_suffix_hint="-1250000000",
    ),
    Provider.OSS: Preset(
        provider=Provider.OSS,
        endpoint_template="https://{region}.aliyuncs.com",
        internal_template="https://{region}-internal.aliyuncs.com",
        endpoint_pattern=r"^https?://(?P<region>oss-[a-z0-9-]+?)(-internal)?\.aliyuncs\.com/?$",
        endpoint_example="https://oss-cn-hangzhou.aliyuncs.com",
        default_region="oss-cn-hangzhou",
        region_example="oss-cn-hangzhou",
        addressing=(Addressing.VIRTUAL,),
        default_addressing=Addressing.VIRTUAL,
        storage_classes=("STANDARD", "IA", "ARCHIVE", "COLDARCHIVE", "DEEPCOLDARCHIVE"),
        archive_classes=("ARCHIVE", "COLDARCHIVE", "DEEPCOLDARCHIVE"),
        restore_tiers=(
            ("Expedited", _("about 1 hour")),
            ("Standard", _("2–5 hours")),
            ("Bulk", _("5–12 hours")),
        ),
        restore_days=(1, 7),
    ),
    Provider.ZOS: Preset(
        provider=Provider.ZOS,
        # ZOS names a resource pool in the host; the signing region is always us-east-1.
        endpoint_pattern=r"^https?://[a-z0-9-]+\.zos\.ctyun\.cn/?$",
        endpoint_example="https://jiangsu-10.zos.ctyun.cn",
        default_region="us-east-1",
        fixed_region="us-east-1",
        region_example="us-east-1",
        addressing=(Addressing.VIRTUAL, Addressing.AUTO),
        default_addressing=Addressing.VIRTUAL,
        storage_classes=("STANDARD", "STANDARD_IA", "GLACIER"),
        archive_classes=("GLACIER",),
        restore_tiers=(("Standard", _("several hours")),),
        restore_days=(1, 31),
        max_buckets=100,
    ),
    Provider.CEPH: Preset(
        provider=Provider.CEPH,
        storage_classes=("STANDARD", "STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"),
    ),
    Provider.MINIO: Preset(provider=Provider.MINIO),
    Provider.OTHER: Preset(
        provider=Provider.OTHER,
        storage_classes=("STANDARD", "STANDARD_IA", "GLACIER", "DEEP_ARCHIVE"),
        archive_classes=("GLACIER", "DEEP_ARCHIVE"),
        restore_tiers=(("Standard", _("depends on the provider")),),
    ),
}


def preset_for(provider: str) -> Preset:
    return PRESETS.get(provider, PRESETS[Provider.OTHER])


def network_endpoint_url(provider: str, url: str, *, internal: bool) -> str:
    """The endpoint URL on the network the endpoint is reached from.

    Aliyun OSS serves each region at two hosts, oss-<region>.aliyuncs.com and,
    from inside its VPC, oss-<region>-internal.aliyuncs.com: a URL typed for one
    is turned into the other when the "internal" box says so. Every other
    provider has one host, and its URL is kept as typed.
    """
    if provider != Provider.OSS:
        return url
    if internal and "-internal." not in url:
        return url.replace(".aliyuncs.com", "-internal.aliyuncs.com")
    if not internal and "-internal." in url:
        return url.replace("-internal.aliyuncs.com", ".aliyuncs.com")
    return url
