#!/usr/bin/env python3
"""A SAML 2.0 identity provider for Gatehouse's browser tests, built on pysaml2 (Debian's python3-pysaml2).

It behaves like a company IdP: it publishes metadata, answers AuthnRequests (HTTP-Redirect and HTTP-POST) with a
login page, and posts an RSA-SHA256-signed response (Response and Assertion signed, NameID in emailAddress format)
to the service provider's ACS. Tests drive it over HTTP:

  POST /admin/sp      body: SP metadata XML          trusts that service provider (ACS URLs come from it)
  POST /admin/users   body: {"email", "password", "attributes": {name: [values]}, "encrypt": CIPHER}
                      creates or replaces a user; attributes go into the assertion as they are; with
                      "encrypt", the signed assertion is encrypted for the SP's encryption certificate with
                      CIPHER ("tripledes-cbc", pysaml2's default, or "aes128-cbc" / "aes256-cbc") and RSA-OAEP
  GET  /start?sp=ENTITY_ID
                      IdP-initiated sign-in (a portal tile): after the login page, an unsolicited response
  GET  /logout?sp=ENTITY_ID
                      IdP-initiated single logout: a signed LogoutRequest (HTTP-Redirect) for the IdP session's
                      NameID and SessionIndex at that SP, sent to the SP's SLO URL; its LogoutResponse comes back
                      to /slo/redirect, which shows whether the SP confirmed
  GET  /slo/redirect  the IdP's SLO endpoint: an SP's LogoutRequest (its query signature verified with the SP's
                      metadata certificate, NameID and SessionIndex matched to the IdP session) ends the IdP
                      session and is answered with a signed LogoutResponse; an SP's LogoutResponse is checked
  GET  /session       the IdP session of this browser, as JSON (null when signed out)

Users sign in with email and password on the login page, which every AuthnRequest shows again, so a test can
change a user's groups between two sign-ins. A successful sign-in also opens an IdP session (a cookie) that
remembers, per SP, the NameID and the SessionIndex the assertion carried, for single logout.
"""

import argparse
import contextlib
import datetime
import html
import json
import os
import re
import secrets
import sys
import tempfile
import threading
from http.cookies import SimpleCookie
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from socketserver import ThreadingMixIn

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
import saml2.entity
import saml2.sigver
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORDPROTECTEDTRANSPORT
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.samlp import STATUS_SUCCESS
from saml2.server import Server
from saml2.sigver import verify_redirect_signature
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def write_key_pair(directory):
    """A fresh RSA-2048 key and self-signed certificate per run, as files (pysaml2 signs with the xmlsec1 binary)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gatehouse test IdP")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_file = os.path.join(directory, "idp-key.pem")
    cert_file = os.path.join(directory, "idp-cert.pem")
    with open(key_file, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    with open(cert_file, "wb") as f:
        f.write(certificate.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


# Data ciphers the test IdP encrypts with: the XML Encryption URI and the matching xmlsec1 session key.
CIPHERS = {
    "tripledes-cbc": ("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "des-192"),
    "aes128-cbc": ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
    "aes256-cbc": ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
}


@contextlib.contextmanager
def assertion_cipher(server, cipher):
    """pysaml2 always encrypts with Triple DES; real IdPs use AES. Swap the cipher for one response (the IdP
    answers one login at a time under LOCK)."""
    uri, session_key = CIPHERS[cipher]
    original_part, original_encrypt = saml2.entity.pre_encryption_part, server.sec.encrypt_assertion
    saml2.entity.pre_encryption_part = lambda **kw: saml2.sigver.pre_encryption_part(msg_enc=uri, **kw)
    server.sec.encrypt_assertion = lambda statement, enc_key, template, key_type=None, node_xpath=None: (
        original_encrypt(statement, enc_key, template, key_type=session_key, node_xpath=node_xpath)
    )
    try:
        yield
    finally:
        saml2.entity.pre_encryption_part, server.sec.encrypt_assertion = original_part, original_encrypt


def idp_config(base_url, key_file, cert_file):
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base_url}/metadata",
            "service": {
                "idp": {
                    "name": "Gatehouse test IdP",
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"{base_url}/sso/redirect", BINDING_HTTP_REDIRECT),
                            (f"{base_url}/sso/post", BINDING_HTTP_POST),
                        ],
                        "single_logout_service": [(f"{base_url}/slo/redirect", BINDING_HTTP_REDIRECT)],
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 5},
                            "attribute_restrictions": None,
                            "name_form": NAME_FORMAT_URI,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": False,
                }
            },
            "key_file": key_file,
            "cert_file": cert_file,
            "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "metadata": {},
        }
    )
    return config


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test IdP · Sign in</title>
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto}}label{{display:block;margin:.8rem 0 .2rem}}
input{{width:100%;padding:.4rem}}button{{margin-top:1rem;padding:.5rem 1rem}}.error{{color:#b00020}}</style></head>
<body><h1>Test IdP</h1><p>Sign in to continue to the application.</p>{error}
<form method="post" action="/login">
<input type="hidden" name="SAMLRequest" value="{request}"><input type="hidden" name="RelayState" value="{relay_state}">
<input type="hidden" name="binding" value="{binding}"><input type="hidden" name="sp" value="{sp}">
<label for="email">IdP email</label><input id="email" name="email" type="email" value="{email}" autocomplete="username">
<label for="password">IdP password</label><input id="password" name="password" type="password">
<button type="submit">Sign in to the IdP</button></form></body></html>"""


class IdentityProvider:
    def __init__(self, base_url, state_dir):
        self.base_url = base_url
        key_file, cert_file = write_key_pair(state_dir)
        self.server = Server(config=idp_config(base_url, key_file, cert_file))
        self.users = {}
        # IdP sessions by cookie value: {"email": ..., "sps": {sp_entity_id: {"name_id", "session_index"}}}
        self.sessions = {}
        # IdP-initiated LogoutRequests awaiting the SP's answer: request ID -> SP entity ID
        self.pending_logouts = {}

    def __call__(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/metadata":
                metadata = str(entity_descriptor(self.server.config)).encode()
                return respond(start_response, "200 OK", "application/samlmetadata+xml", metadata)
            if path in ("/sso/redirect", "/sso/post"):
                fields = form_fields(environ) if method == "POST" else query_fields(environ)
                binding = BINDING_HTTP_POST if path == "/sso/post" else BINDING_HTTP_REDIRECT
                return self.login_page(start_response, fields, binding, error="", email="")
            if method == "GET" and path == "/start":
                return self.login_page(start_response, query_fields(environ), "", error="", email="")
            if method == "POST" and path == "/login":
                return self.login(start_response, form_fields(environ), environ)
            if method == "GET" and path == "/logout":
                return self.logout(start_response, query_fields(environ), environ)
            if method == "GET" and path == "/slo/redirect":
                return self.single_logout(start_response, query_fields(environ), environ)
            if method == "GET" and path == "/session":
                session = self.sessions.get(session_cookie(environ))
                return respond(start_response, "200 OK", "application/json", json.dumps(session).encode())
            if method == "POST" and path == "/admin/sp":
                self.server.metadata.load("inline", read_body(environ).decode())
                return respond(start_response, "204 No Content", "text/plain", b"")
            if method == "POST" and path == "/admin/users":
                user = json.loads(read_body(environ))
                self.users[user["email"].lower()] = user
                return respond(start_response, "204 No Content", "text/plain", b"")
            return respond(start_response, "404 Not Found", "text/plain", b"not found")
        except Exception as error:  # the test reads the reason from the page instead of a dropped connection
            print(f"test IdP: {path}: {error!r}", file=sys.stderr)
            return respond(start_response, "400 Bad Request", "text/plain", f"test IdP: {error}".encode())

    def login_page(self, start_response, fields, binding, error, email):
        # Parsing checks the request (or the SP of an IdP-initiated sign-in) before a password is asked for.
        if fields.get("SAMLRequest"):
            self.server.parse_authn_request(fields["SAMLRequest"], binding)
        else:
            self.acs_of(fields["sp"])
        page = PAGE.format(
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            request=html.escape(fields.get("SAMLRequest", "")),
            sp=html.escape(fields.get("sp", "")),
            relay_state=html.escape(fields.get("RelayState", "")),
            binding=html.escape(binding),
            email=html.escape(email),
        )
        return respond(start_response, "200 OK", "text/html; charset=utf-8", page.encode())

    def login(self, start_response, fields, environ):
        binding = fields["binding"]
        email = fields.get("email", "").strip()
        user = self.users.get(email.lower())
        if user is None or user.get("password") != fields.get("password"):
            return self.login_page(start_response, fields, binding, "Unknown email or wrong password.", email)
        if fields.get("SAMLRequest"):
            request = self.server.parse_authn_request(fields["SAMLRequest"], binding).message
            response_args = self.server.response_args(request, [BINDING_HTTP_POST])
        else:  # unsolicited: no request to answer, sent to the SP's ACS from its metadata
            response_args = {
                "in_response_to": None,
                "sp_entity_id": fields["sp"],
                "destination": self.acs_of(fields["sp"]),
                "name_id_policy": None,
            }
        cipher = user.get("encrypt")
        with LOCK, (assertion_cipher(self.server, cipher) if cipher else contextlib.nullcontext()):
            response = self.create_response(user, cipher, response_args)
        http_args = self.server.apply_binding(
            BINDING_HTTP_POST,
            str(response),
            response_args["destination"],
            fields.get("RelayState", ""),
            response=True,
        )
        cookie = session_cookie(environ) or secrets.token_urlsafe(16)
        session = self.sessions.setdefault(cookie, {"email": user["email"], "sps": {}})
        session["email"] = user["email"]
        session_index = re.search(r'SessionIndex="([^"]+)"', str(response))
        if session_index:  # an encrypted assertion hides it: no single logout for that sign-in
            session["sps"][response_args["sp_entity_id"]] = {
                "name_id": user["email"],
                "session_index": session_index.group(1),
            }
        body = http_args["data"].encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Set-Cookie", f"{SESSION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax"),
            ],
        )
        return [body]

    def logout(self, start_response, fields, environ):
        """IdP-initiated single logout at one SP (a portal's "Sign out" for that application)."""
        sp = fields["sp"]
        session = self.sessions.get(session_cookie(environ))
        at_sp = session and session["sps"].get(sp)
        if not at_sp:
            return page(start_response, "400 Bad Request", "Not signed in there", f"No IdP session at {sp}.")
        request_id, request = self.server.create_logout_request(
            destination=self.slo_of(sp),
            issuer_entity_id=sp,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=at_sp["name_id"]),
            session_indexes=[at_sp["session_index"]],
            sign=False,  # HTTP-Redirect signs the query string instead
        )
        self.pending_logouts[request_id] = sp
        http_args = self.server.apply_binding(
            BINDING_HTTP_REDIRECT, str(request), self.slo_of(sp), "idp-relay-7", sign=True, sigalg=SIG_RSA_SHA256
        )
        return redirect(start_response, dict(http_args["headers"])["Location"])

    def single_logout(self, start_response, fields, environ):
        if "SAMLRequest" in fields:
            return self.sp_logout_request(start_response, fields, environ)
        response = self.server.parse_logout_request_response(fields["SAMLResponse"], BINDING_HTTP_REDIRECT)
        sp = self.pending_logouts.pop(response.response.in_response_to, None)
        if sp is None:
            raise ValueError(f"LogoutResponse to an unknown request {response.response.in_response_to}")
        if not verify_redirect_signature(fields, self.server.sec.sec_backend, self.signing_cert_of(sp)):
            raise ValueError("the LogoutResponse's query signature does not verify with the SP's certificate")
        status = response.response.status.status_code.value
        session = self.sessions.get(session_cookie(environ))
        if session and status == STATUS_SUCCESS:
            session["sps"].pop(sp, None)
        title = "Signed out" if status == STATUS_SUCCESS else "Sign-out failed"
        return page(start_response, "200 OK", title, f"{sp} answered {status} (RelayState {fields.get('RelayState')}).")

    def sp_logout_request(self, start_response, fields, environ):
        """An SP's LogoutRequest: verified, matched to the IdP session, which ends, and answered."""
        request = self.server.parse_logout_request(fields["SAMLRequest"], BINDING_HTTP_REDIRECT)
        sp = request.message.issuer.text
        if not verify_redirect_signature(fields, self.server.sec.sec_backend, self.signing_cert_of(sp)):
            raise ValueError("the LogoutRequest's query signature does not verify with the SP's certificate")
        session = self.sessions.get(session_cookie(environ))
        at_sp = session and session["sps"].get(sp)
        indexes = [index.text for index in request.message.session_index]
        if not at_sp or request.message.name_id.text != at_sp["name_id"] or indexes != [at_sp["session_index"]]:
            raise ValueError(f"the LogoutRequest names {request.message.name_id.text} {indexes}, not this IdP session")
        self.sessions.pop(session_cookie(environ), None)
        response = self.server.create_logout_response(request.message, [BINDING_HTTP_REDIRECT], sign=False)
        http_args = self.server.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(response),
            self.slo_of(sp),
            fields.get("RelayState", ""),
            response=True,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
        return redirect(start_response, dict(http_args["headers"])["Location"])

    def slo_of(self, sp_entity_id):
        services = self.server.metadata.single_logout_service(sp_entity_id, BINDING_HTTP_REDIRECT, "spsso")
        if not services:
            raise ValueError(f"no HTTP-Redirect SLO URL known for {sp_entity_id}")
        return services[0]["location"]

    def signing_cert_of(self, sp_entity_id):
        return self.server.metadata.certs(sp_entity_id, "spsso", "signing")[0]

    def create_response(self, user, cipher, response_args):
        return self.server.create_authn_response(
            {name: list(values) for name, values in user.get("attributes", {}).items()},
            userid=user["email"],
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user["email"]),
            authn={"class_ref": PASSWORDPROTECTEDTRANSPORT, "authn_auth": self.base_url},
            sign_response=True,
            sign_assertion=True,
            encrypt_assertion=bool(cipher),
            encrypt_cert_assertion=None,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
            **response_args,
        )

    def acs_of(self, sp_entity_id):
        services = self.server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)
        if not services:
            raise ValueError(f"no HTTP-POST ACS known for {sp_entity_id}: POST its metadata to /admin/sp first")
        return services[0]["location"]


SESSION_COOKIE = "test_idp_session"


def session_cookie(environ):
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    return cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None


def redirect(start_response, location):
    start_response("303 See Other", [("Location", location), ("Content-Length", "0")])
    return [b""]


def page(start_response, status, title, text):
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP · {html.escape(title)}</title>'
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    ).encode()
    return respond(start_response, status, "text/html; charset=utf-8", body)


def read_body(environ):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length)


def form_fields(environ):
    return {k: v[0] for k, v in parse_qs(read_body(environ).decode(), keep_blank_values=True).items()}


def query_fields(environ):
    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}


def respond(start_response, status, content_type, body):
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


LOCK = threading.Lock()


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:3919", help="address and port to listen on")
    parser.add_argument(
        "--base-url",
        default=None,
        help="the URL browsers and the SP use (default http://localhost:PORT: another site than 127.0.0.1)",
    )
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    base_url = (args.base_url or f"http://localhost:{port}").rstrip("/")
    with tempfile.TemporaryDirectory(prefix="test-idp-") as state_dir:
        app = IdentityProvider(base_url, state_dir)
        with make_server(host, int(port), app, server_class=ThreadingServer, handler_class=QuietHandler) as httpd:
            print(f"test IdP {base_url} listening on {args.listen}", flush=True)
            httpd.serve_forever()


if __name__ == "__main__":
    main()
