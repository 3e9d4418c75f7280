"""The API's documentation page, ``/api/v1/docs``: Swagger UI on /api/v1/openapi.json.

Swagger UI's files come from the swagger-ui-bundle package and are served from here: the page asks
no other host for anything (its validator badge, which would, is switched off).
"""
from __future__ import annotations

from flask import Blueprint, Response, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("api_docs", __name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>octeth-domains API</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" href="{icon}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""

INIT = """window.ui = SwaggerUIBundle({
  url: %s,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
});
"""


@bp.route("/api/v1/docs", methods=["GET"])
def page() -> Response:
    html = PAGE.format(css=url_for(".asset", name="swagger-ui.css"), icon=url_for(".asset", name="favicon-32x32.png"),
                       bundle=url_for(".asset", name="swagger-ui-bundle.js"), init=url_for(".init"))
    return Response(html, mimetype="text/html")


@bp.route("/api/v1/docs/init.js", methods=["GET"])
def init() -> Response:
    import json

    return Response(INIT % json.dumps(url_for("api.openapi_document")), mimetype="text/javascript")


@bp.route("/api/v1/docs/<any('swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'):name>", methods=["GET"])
def asset(name: str) -> Response:
    return send_from_directory(swagger_ui_path, name, max_age=3600)
