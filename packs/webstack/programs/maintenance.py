"""The maintenance-mode app served while the database is migrated (APP_MODULE=maintenance):
it answers /health so the deploy's health gate passes, and refuses everything else."""

from __future__ import annotations

import logging
import os

from flask import Flask, jsonify

log = logging.getLogger("maintenance")


def create_app(report_seconds: float = 2.5, lookup_ms: float = 40.0,
               partner_slots: int = 2) -> Flask:
    instance = os.environ.get("SRE_INSTANCE_ID", "")
    app = Flask("orders-maintenance")
    log.info("maintenance page up: /api is answered with 503 until the migration ends")

    @app.get("/health")
    def health():  # type: ignore[no-untyped-def]
        return jsonify(status="ok", instance=instance, version="2.4.0")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
    def maintenance(path: str):  # type: ignore[no-untyped-def]
        return jsonify(error="service in maintenance mode, try again later",
                       instance=instance), 503

    return app
