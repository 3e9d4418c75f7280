"""octeth-domains: the sender-domain API of the Octeth email platform."""
from __future__ import annotations

import os
from typing import Mapping

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config, db, hooks, logs

# Nothing the API takes comes near this; a larger body is refused before it is read (413).
MAX_BODY_BYTES = 1024 * 1024


def create_app(env: Mapping[str, str] | None = None) -> Flask:
    """Build the app from ``env`` (default: the process environment), as SPEC §8 describes."""
    env = os.environ if env is None else env
    app = Flask(
        __name__,
        instance_path=env.get("OCTETH_INSTANCE_PATH") or None,
        instance_relative_config=True,
    )
    os.makedirs(app.instance_path, exist_ok=True)  # home of the SQLite file and generated secret
    from .api.params import ServiceRequest

    app.request_class = ServiceRequest
    # The providers, built once: every provider module's PROVIDER, and the operator's modules.
    providers = config.load_providers(env)
    app.config.update(config.from_environment(app.instance_path, env, providers))
    app.config["SECRET_KEY"] = app.config["OCTETH_SECRET_KEY"]
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    # One text field of a multipart form may fill the whole body (Flask would stop it at 500 kB,
    # answering 413 for a body within the limit).
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    logs.configure(app)
    if app.config["OCTETH_TRUSTED_PROXIES"]:
        # Behind a reverse proxy every request comes from the proxy's address: without this, the
        # per-address limit before authentication would count all clients as one. Only the
        # configured number of hops is believed, so a client cannot choose its own address.
        count = app.config["OCTETH_TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0, x_prefix=0)

    if app.config["OCTETH_TRUSTED_HOSTS"]:
        # Flask refuses any other Host (400): links the service builds from the request's host,
        # such as dns.connect's RedirectURI, then name only hosts the operator listed.
        app.config["TRUSTED_HOSTS"] = list(app.config["OCTETH_TRUSTED_HOSTS"])
        app.wsgi_app = _host_as_checked(app.wsgi_app, app.config["OCTETH_TRUSTED_HOSTS"][0].lstrip("."))

    db.init_app(app)
    redis_client = _redis_client(app.config["OCTETH_REDIS_URL"])
    app.extensions["octeth_redis"] = redis_client
    app.extensions["octeth_providers"] = providers

    from .senderdomains import listing, settings, templates, verify

    try:
        app.extensions["octeth_templates"] = templates.load_templates(
            app.config["OCTETH_DNS_TEMPLATES"], app.config["OCTETH_DELIVERY_HOST"], app.config["OCTETH_SPF_INCLUDE"]
        )
    except templates.TemplateError as error:
        raise config.ConfigError(f"OCTETH_DNS_TEMPLATES: {error}") from None
    app.extensions["octeth_verify_cache"] = verify.VerificationCache(
        redis_client, prefix=f"{app.config['OCTETH_REDIS_KEY_PREFIX']}:verify:"
    )
    # Everything the sender-domain rules read from the configuration, built once.
    app.extensions["octeth_senderdomains"] = settings.from_config(
        app.config, app.extensions["octeth_templates"], app.extensions["octeth_verify_cache"], verify.ZoneCache()
    )

    if app.config["OCTETH_LIST_CACHE_MB"] > 0:
        app.extensions["octeth_list_cache"] = listing.ListCache(int(app.config["OCTETH_LIST_CACHE_MB"] * 2**20))

    from .api import doors, envelope, limits, params
    from . import cli, commands, health, web  # noqa: F401  (importing commands registers them)

    limits.init_app(app)
    app.register_blueprint(doors.bp)
    from .api import docs_ui

    app.register_blueprint(docs_ui.bp)  # /api/v1/docs
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)  # the user's pages, /app/user/senderdomains/
    cli.register(app)

    @app.before_request
    def _whole_body() -> None:  # a chunked body over the limit is refused, not cut (413)
        from flask import request

        params.read_streamed_body(request, MAX_BODY_BYTES)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # outside the doors: unknown paths and methods
        from flask import request

        if request.path == web.bp.url_prefix or request.path.startswith(web.bp.url_prefix + "/"):
            from .web.errors import unrouted

            return unrouted(error)  # a person reads a page there, never the API's JSON
        return envelope.render_error(envelope.from_http_exception(error, request.path.startswith("/api")))

    hooks.load_plugins(app)
    from .senderdomains import reverify

    # After the plugins, which may set the OCTETH_REVERIFY_* values a run reads.
    app.extensions["octeth_reverify"] = reverify.RunSettings(
        app.extensions["octeth_senderdomains"], claim_ttl=float(app.config["OCTETH_REVERIFY_CLAIM_TTL"]),
        dns_timeout=float(app.config["OCTETH_REVERIFY_DNS_TIMEOUT"]))
    return app


def _host_as_checked(wsgi_app, health_host: str):
    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/health":
            # Load balancers and orchestrators probe by address (Host: 10.0.0.5:8080); the
            # answer builds no link, so any Host is taken as the first trusted name.
            environ["HTTP_HOST"] = health_host
        elif "HTTP_HOST" in environ:
            # Host names are case-insensitive; werkzeug compares the header with the list as sent.
            environ["HTTP_HOST"] = environ["HTTP_HOST"].lower()
        return wsgi_app(environ, start_response)

    return app


def redis_options() -> dict:
    """Client options for every Redis connection of the service.

    A Redis that stops answering must degrade a request (no cache, limits per process), not hang
    it: short timeouts, and one retry instead of redis-py's default of several with backoff.
    """
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry": Retry(NoBackoff(), 1)}


def _redis_client(url: str | None):
    if not url:
        return None
    import redis

    return redis.Redis.from_url(url, **redis_options())
