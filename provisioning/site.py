"""The site directory: where the technician's laptop keeps the CA, identities and inventory.

Layout (all created owner-only, 0700 folders and 0600 keys)::

    site/
      ca/ca.key ca.pem crl.pem         site CA (ECDSA P-256) and its revocation list
      signing/bundle.key bundle.pub    Ed25519 key that signs update bundles
      inventory.sqlite3                every device, its certificate serial and status
      gateways/<id>/                   key, certificate, config, systemd unit, install.sh
      broker/                          broker key/cert, mosquitto config, ACL, CRL copy
      subscribers/<name>/              read-only subscriber accounts (key + cert)
      nodes/<id>/node.json             provisioned node configuration (holds the node key)
      node-keys.toml                   node key registry for gateways (gateway/sensors/keys.py)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from provisioning.secrets import private_dir

ENV_SITE = "EDGEPOST_SITE"


def default_site_dir() -> Path:
    """``$EDGEPOST_SITE`` or ``./site``."""
    return Path(os.environ.get(ENV_SITE, "site"))


@dataclass(frozen=True)
class Site:
    """Paths inside one site directory."""

    root: Path

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def signing_dir(self) -> Path:
        return self.root / "signing"

    @property
    def inventory_path(self) -> Path:
        return self.root / "inventory.sqlite3"

    @property
    def broker_dir(self) -> Path:
        return self.root / "broker"

    @property
    def node_registry(self) -> Path:
        return self.root / "node-keys.toml"

    def gateway_dir(self, device_id: str) -> Path:
        return self.root / "gateways" / device_id

    def subscriber_dir(self, name: str) -> Path:
        return self.root / "subscribers" / name

    def node_dir(self, node_id: int) -> Path:
        return self.root / "nodes" / str(node_id)

    def ensure(self) -> Site:
        """Create the root owner-only (it will hold keys)."""
        private_dir(self.root)
        return self

    def private(self, path: Path) -> Path:
        """Create ``path`` and every folder between the root and it owner-only."""
        self.ensure()
        rel = path.relative_to(self.root)
        cur = self.root
        for part in rel.parts:
            cur = private_dir(cur / part)
        return path
