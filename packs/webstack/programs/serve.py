"""The app server: werkzeug's threaded WSGI server running `APP_MODULE`'s application.

Usage: serve.py [--report-seconds S] [--lookup-ms MS] [--partner-slots N]   (the workdir is the cwd)

`APP_MODULE` (etc/app.env) names the module whose `create_app()` builds the application
(`orders`, the shop; `maintenance`, the maintenance page); `APP_PORT` is where it listens.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from werkzeug.serving import make_server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report-seconds", type=float, default=2.5)
    parser.add_argument("--lookup-ms", type=float, default=40.0)
    parser.add_argument("--partner-slots", type=int, default=2)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname)s app[%(process)d]: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # nginx keeps the access log
    log = logging.getLogger("serve")
    name = os.environ.get("APP_MODULE", "orders").strip()
    try:
        port = int(os.environ.get("APP_PORT", ""))
    except ValueError:
        log.error("APP_PORT is not a port number: %r", os.environ.get("APP_PORT"))
        return 2
    log.info("loading APP_MODULE=%s", name)
    module = importlib.import_module(name)
    app = module.create_app(report_seconds=args.report_seconds, lookup_ms=args.lookup_ms,
                            partner_slots=args.partner_slots)
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)
    except OSError as exc:
        log.error("cannot listen on 127.0.0.1:%d: %s", port, exc.strerror or exc)
        return 1
    log.info("listening on 127.0.0.1:%d (APP_MODULE=%s)", port, name)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
