"""An S3-compatible object store of the test's own: moto's server mode (moto[server]) on a spare
port of 127.0.0.1, in a thread of the test process, reached over HTTP like MinIO or AWS would be
by every process of the test (web and worker)."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass

import boto3
from moto.server import ThreadedMotoServer

ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"  # noqa: S105 - moto accepts any
REGION = "us-east-1"


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ObjectStore:
    endpoint: str
    bucket: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def environment(self) -> dict[str, str]:
        """The variables that point the EDC at this store (docs/configuration.md)."""
        return {
            "STORAGE_S3_BUCKET": self.bucket,
            "STORAGE_S3_ENDPOINT_URL": self.endpoint,
            "STORAGE_S3_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def storages(self) -> dict:
        """settings.STORAGES as trialedc/settings.py makes it from environment()."""
        from django.conf import settings

        return {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": self.bucket,
                    "endpoint_url": self.endpoint,
                    "region_name": REGION,
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                    "addressing_style": "path",
                    "signature_version": "s3v4",
                    "default_acl": None,
                    "querystring_auth": True,
                    "querystring_expire": 300,
                    "file_overwrite": False,
                    "max_memory_size": 8 * 1024 * 1024,
                },
            },
        }


class OwnObjectStore:
    """Start with start(), stop with stop(): a moto S3 server and one private bucket."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> ObjectStore:
        self.server.start()
        store = ObjectStore(
            endpoint=f"http://127.0.0.1:{self.port}", bucket=f"edc-{uuid.uuid4().hex[:12]}"
        )
        store.client().create_bucket(Bucket=store.bucket)
        return store

    def stop(self) -> None:
        self.server.stop()
