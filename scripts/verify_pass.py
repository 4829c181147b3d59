#!/usr/bin/env python3
"""Independent verifier for Movement Pass QR texts (SPEC §7, §8).

Written from the specification, not from the Rust code, to show that the credential
format interoperates. Needs only the PyPI packages ``cbor2`` and ``cryptography``;
Base45 (RFC 9285) is implemented here.

Usage:
    verify_pass.py --trust-list trust.json [--now UNIX_SECONDS] [--clock-tolerance SECS] QR_TEXT
    verify_pass.py --trust-list trust.json -          # read the QR text from stdin

Prints ``{"valid": bool, "claims": {...} | null, "kid": str | null, "error": str | null}``
and exits 0 only when the signature verifies with a trusted, uncompromised key whose
validity covers the pass, and nbf <= now < exp (widened by --clock-tolerance, default 0).
Exit status 1 means not valid, 2 a usage or trust-list error. Revocation is not checked:
that needs the online revocation list.
"""

import argparse
import base64
import hashlib
import io
import json
import sys
import time
import uuid
from collections.abc import Mapping, Sequence

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "MP1:"
MAX_TEXT = 4 + 1536  # prefix + Base45 of at most 1024 bytes
MAX_COSE = 1024
MAX_TRUST_LIST = 64 * 1024
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CLAIM_PASS = -65537


class Invalid(Exception):
    """The pass is not valid; the message is the reason."""


def b45decode(text):
    """Strict RFC 9285 decoding: bad characters, lengths and group values raise."""
    if len(text) % 3 == 1:
        raise Invalid("malformed: base45 length")
    try:
        values = [B45.index(c) for c in text]
    except ValueError:
        raise Invalid("malformed: base45 character") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise Invalid("malformed: base45 group out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise Invalid("malformed: base45 group out of range")
            out.append(n)
    return bytes(out)


def b64url_decode(s):
    if not isinstance(s, str) or "=" in s:
        raise ValueError("expected unpadded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cbor_one(data, what):
    """Decodes exactly one CBOR item, refusing trailing bytes."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(stream).decode()
    except Exception as e:  # cbor2 raises several types on bad input
        raise Invalid(f"malformed: {what}: {e}") from None
    if stream.tell() != len(data):
        raise Invalid(f"malformed: {what}: trailing bytes")
    return value


def kid_of(raw_public_key):
    return hashlib.sha256(raw_public_key).digest()[:8]


def load_trust_list(path):
    """Returns [(kid, public key, nbf, exp or None, compromised)] from a JWK Set."""
    with open(path, "rb") as f:
        data = f.read(MAX_TRUST_LIST + 1)
    if len(data) > MAX_TRUST_LIST:
        raise ValueError("trust list too large")
    doc = json.loads(data)
    keys = []
    for jwk in doc["keys"]:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            raise ValueError("trust list key is not an Ed25519 OKP key")
        x = b64url_decode(jwk["x"])
        kid = b64url_decode(jwk["kid"])
        if len(x) != 32 or kid != kid_of(x):
            raise ValueError("trust list kid does not match x")
        status = jwk.get("status", "active")
        if status not in ("active", "retired", "compromised"):
            raise ValueError(f"unknown key status {status!r}")
        key = Ed25519PublicKey.from_public_bytes(x)
        keys.append((kid, key, int(jwk["nbf"]), jwk.get("exp"), status == "compromised"))
    return keys


def short_code(pass_id):
    n = int.from_bytes(hashlib.sha256(pass_id).digest()[:5], "big")
    return "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(7, -1, -1))


def read_claims(payload):
    cwt = cbor_one(payload, "claims")
    if not isinstance(cwt, Mapping) or set(cwt) != {1, 4, 5, 6, 7, CLAIM_PASS}:
        raise Invalid("malformed: CWT claims")
    details = cwt[CLAIM_PASS]
    if not isinstance(details, Mapping) or not set(details) <= set(range(1, 10)):
        raise Invalid("malformed: pass claims")
    if not {1, 2, 3, 4, 5, 6, 7, 9} <= set(details):
        raise Invalid("malformed: pass claims missing")
    pass_id = cwt[7]
    if not isinstance(pass_id, bytes) or len(pass_id) != 16:
        raise Invalid("malformed: cti")
    for k in (4, 5, 6):
        if type(cwt[k]) is not int:
            raise Invalid("malformed: time claim")
    if details[7] not in (0, 1) or type(details[7]) is not int:
        raise Invalid("malformed: trip")
    return {
        "issuer": cwt[1],
        "pass_id": str(uuid.UUID(bytes=pass_id)),
        "short_code": short_code(pass_id),
        "issued_at": cwt[6],
        "not_before": cwt[5],
        "expires": cwt[4],
        "holder_name": details[1],
        "document_last4": details[2],
        "birth_year": details[3],
        "reason": details[4],
        "from_area": details[5],
        "to_area": details[6],
        "round_trip": details[7] == 1,
        "vehicle_registration": details.get(8),
        "companions": details[9],
    }


def verify(qr_text, trust, now, tolerance):
    """Returns (claims, kid); raises Invalid with the reason."""
    text = qr_text.strip()
    if len(text) > MAX_TEXT:
        raise Invalid("too_large")
    if not text.startswith(PREFIX):
        raise Invalid("malformed: prefix")
    cose = b45decode(text[len(PREFIX) :])
    if len(cose) > MAX_COSE:
        raise Invalid("too_large")
    msg = cbor_one(cose, "COSE")
    if not isinstance(msg, cbor2.CBORTag) or msg.tag != 18:
        raise Invalid("malformed: not a tagged COSE_Sign1")
    # cbor2 6 may give tuples and frozendicts inside tags, so test by interface.
    body = msg.value
    if isinstance(body, (bytes, str)) or not isinstance(body, Sequence) or len(body) != 4:
        raise Invalid("malformed: COSE_Sign1 shape")
    protected, unprotected, payload, signature = body
    if not (isinstance(protected, bytes) and isinstance(payload, bytes)):
        raise Invalid("malformed: COSE_Sign1 types")
    if not isinstance(unprotected, Mapping) or len(unprotected) != 0 or not isinstance(signature, bytes) or len(signature) != 64:
        raise Invalid("malformed: COSE_Sign1 types")
    header = cbor_one(protected, "protected header")
    if not isinstance(header, Mapping) or set(header) != {1, 4} or header[1] != -8:
        raise Invalid("malformed: protected header must be {1: -8, 4: kid}")
    kid = header[4]
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise Invalid("malformed: kid")

    candidates = [k for k in trust if k[0] == kid]
    if not candidates:
        raise Invalid("unknown_key")
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    signers = []
    for entry in candidates:  # kids may collide: try every match
        try:
            entry[1].verify(signature, to_be_signed)
            signers.append(entry)
        except InvalidSignature:
            pass
    if not signers:
        raise Invalid("bad_signature")
    if any(s[4] for s in signers):
        raise Invalid("key_compromised")

    claims = read_claims(payload)
    if not any(
        claims["issued_at"] >= nbf and (exp is None or claims["expires"] <= exp)
        for _, _, nbf, exp, _ in signers
    ):
        raise Invalid("key_not_valid_for_pass")
    if now + tolerance < claims["not_before"]:
        raise Invalid("not_yet_valid")
    if now - tolerance >= claims["expires"]:
        raise Invalid("expired")
    return claims, kid


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a Movement Pass QR text offline.")
    parser.add_argument("--trust-list", required=True, help="JWK Set JSON file")
    parser.add_argument("--now", type=int, default=None, help="Unix seconds (default: now)")
    parser.add_argument("--clock-tolerance", type=int, default=0, help="seconds (default 0)")
    parser.add_argument("qr_text", help="the MP1:... text, or - for stdin")
    args = parser.parse_args(argv)

    try:
        trust = load_trust_list(args.trust_list)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(json.dumps({"valid": False, "claims": None, "kid": None, "error": f"trust list: {e}"}))
        return 2
    qr_text = sys.stdin.read(MAX_TEXT + 16) if args.qr_text == "-" else args.qr_text
    now = args.now if args.now is not None else int(time.time())

    result = {"valid": False, "claims": None, "kid": None, "error": None}
    try:
        claims, kid = verify(qr_text, trust, now, max(args.clock_tolerance, 0))
        result.update(valid=True, claims=claims, kid=b64url(kid))
    except Invalid as e:
        result["error"] = str(e)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0 if result["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
