#!/usr/bin/env python3
"""A small S3 look-alike for tests of what neither s3rver nor Swift implements.

It answers like S3 would for Object Lock (stores x-amz-object-lock-* headers,
shows them on HEAD, refuses with 403 AccessDenied to DELETE an object whose
retention has not passed, insists on Content-MD5 for locked writes), checks
x-amz-content-sha256 against the body, and supports PUT/GET (Range)/HEAD/
DELETE, ListObjectsV2 and multipart upload. It does NOT verify signatures.

Test control, under /__admin/ (not a valid bucket name):
  GET  /__admin/requests   every request so far as JSON (method, path, query, headers)
  POST /__admin/reset      forget objects, uploads, requests and faults
  POST /__admin/fault?method=M&kind=K&count=N[&path=SUBSTR][&status=S&code=C][&seconds=T]
       the next N requests with method M (and SUBSTR in the path) get fault K:
       status (an S3 error document with status S and code C), hang (no answer for
       T seconds), short (half the body, then the connection closes), reset
       (connection closed without an answer); status faults may add region=R
       (<Region> in the error) and bucket_region=R (x-amz-bucket-region header)

Usage: s3_fixture.py PORT   (binds 127.0.0.1 only)
"""
import base64
import datetime
import hashlib
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
OBJECTS = {}   # "bucket/key" -> {"body": bytes, "mode": str|None, "until": str|None}
BUCKETS = set()
UPLOADS = {}   # upload id -> {"key": str, "parts": {n: bytes}, "mode", "until"}
REQUESTS = []
FAULTS = []    # dicts: method, kind, count, path, status, code, seconds
NEXT_UPLOAD = [0]


def error_xml(code, message, region=None):
    extra = "<Region>%s</Region>" % region if region else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>%s'
            '<RequestId>fixture</RequestId></Error>' % (code, message, extra)).encode()


def parse_date(text):
    text = text.replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    # -- plumbing ---------------------------------------------------------
    def send(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def s3_error(self, status, code, message, head=False, region=None, headers=None):
        h = {"Content-Type": "application/xml"}
        h.update(headers or {})
        self.send(status, b"" if head else error_xml(code, message, region), h, head)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def take_fault(self, method, path):
        with LOCK:
            for f in FAULTS:
                if f["count"] > 0 and f["method"] == method and f.get("path", "") in self.path:
                    f["count"] -= 1
                    return dict(f)
        return None

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        body = self.read_body() if method in ("PUT", "POST") else b""
        if path.startswith("/__admin/"):
            return self.admin(method, path, query)
        with LOCK:
            REQUESTS.append({"method": method, "path": url.path, "query": url.query,
                             "client_port": self.client_address[1],
                             "headers": {k.lower(): v for k, v in self.headers.items()}})
        fault = self.take_fault(method, path)
        if fault:
            kind = fault["kind"]
            if kind == "status":
                extra = {}
                if fault.get("bucket_region"):
                    extra["x-amz-bucket-region"] = fault["bucket_region"]
                return self.s3_error(int(fault.get("status", 503)), fault.get("code", "SlowDown"),
                                     "injected fault", head=method == "HEAD",
                                     region=fault.get("region"), headers=extra)
            if kind == "hang":
                time.sleep(float(fault.get("seconds", 30)))
                self.close_connection = True
                return
            if kind == "reset":
                self.close_connection = True
                return
            if kind == "short":
                self.short_answer = True
        sha = self.headers.get("x-amz-content-sha256")
        if method in ("PUT", "POST") and sha is not None and sha != "UNSIGNED-PAYLOAD":
            if hashlib.sha256(body).hexdigest() != sha:
                return self.s3_error(400, "XAmzContentSHA256Mismatch",
                                     "The provided 'x-amz-content-sha256' header does not match what was computed.")
        md5 = self.headers.get("Content-MD5")
        if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
            return self.s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
        parts = path.lstrip("/").split("/", 1)
        bucket = parts[0]
        key = parts[1] if len(parts) > 1 else ""
        if not key:
            return self.bucket_op(method, bucket, query)
        return self.object_op(method, bucket + "/" + key, query, body)

    def admin(self, method, path, query):
        if path == "/__admin/requests":
            with LOCK:
                data = json.dumps(REQUESTS).encode()
            return self.send(200, data, {"Content-Type": "application/json"})
        if path == "/__admin/reset":
            with LOCK:
                OBJECTS.clear(); UPLOADS.clear(); BUCKETS.clear(); REQUESTS.clear(); FAULTS.clear()
            return self.send(200)
        if path == "/__admin/fault":
            f = dict(query)
            f["count"] = int(f.get("count", 1))
            with LOCK:
                FAULTS.append(f)
            return self.send(200)
        return self.send(404)

    # -- S3 ----------------------------------------------------------------
    def bucket_op(self, method, bucket, query):
        if method == "PUT":
            with LOCK:
                BUCKETS.add(bucket)
            return self.send(200)
        if method == "HEAD":
            with LOCK:
                known = bucket in BUCKETS
            if not known:
                return self.s3_error(404, "NoSuchBucket", "", head=True)
            return self.send(200, head=True)
        if method == "GET" and query.get("list-type") == "2":
            prefix = query.get("prefix", "")
            with LOCK:
                items = sorted((k.split("/", 1)[1], len(v["body"])) for k, v in OBJECTS.items()
                               if k.startswith(bucket + "/") and k.split("/", 1)[1].startswith(prefix))
            contents = "".join("<Contents><Key>%s</Key><Size>%d</Size></Contents>" % (k, n)
                               for k, n in items)
            xml = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                   "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><IsTruncated>false</IsTruncated>%s"
                   "</ListBucketResult>" % (bucket, prefix, len(items), contents))
            return self.send(200, xml.encode(), {"Content-Type": "application/xml"})
        return self.s3_error(501, "NotImplemented", "not in this fixture")

    def lock_headers_ok(self, body_required):
        mode = self.headers.get("x-amz-object-lock-mode")
        until = self.headers.get("x-amz-object-lock-retain-until-date")
        if (mode is None) != (until is None):
            return None, None, "x-amz-object-lock-mode and -retain-until-date go together"
        if mode is not None:
            if mode not in ("GOVERNANCE", "COMPLIANCE"):
                return None, None, "unknown lock mode"
            try:
                if parse_date(until) <= datetime.datetime.now(datetime.timezone.utc):
                    return None, None, "The retain until date must be in the future!"
            except ValueError:
                return None, None, "malformed retain until date"
            if body_required and self.headers.get("Content-MD5") is None and \
                    not any(h.lower().startswith("x-amz-checksum-") for h in self.headers.keys()):
                return None, None, ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put "
                                    "Object requests with Object Lock parameters")
        return mode, until, None

    def object_op(self, method, key, query, body):
        if method == "POST" and "uploads" in query:
            mode, until, err = self.lock_headers_ok(False)
            if err:
                return self.s3_error(400, "InvalidRequest", err)
            with LOCK:
                NEXT_UPLOAD[0] += 1
                uid = "up+%d/x=" % NEXT_UPLOAD[0]   # characters that need query encoding
                UPLOADS[uid] = {"key": key, "parts": {}, "mode": mode, "until": until}
            xml = ("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>%s</UploadId>"
                   "</InitiateMultipartUploadResult>" % uid)
            return self.send(200, xml.encode(), {"Content-Type": "application/xml"})
        if "uploadId" in query:
            uid = query["uploadId"]
            with LOCK:
                up = UPLOADS.get(uid)
            if up is None:
                return self.s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
            if method == "PUT":
                if up["mode"] and self.headers.get("Content-MD5") is None:
                    return self.s3_error(400, "InvalidRequest", "Content-MD5 required for parts of a locked upload")
                n = int(query["partNumber"])
                with LOCK:
                    up["parts"][n] = body
                return self.send(200, headers={"ETag": '"%s"' % hashlib.md5(body).hexdigest()})
            if method == "POST":
                numbers = [int(n) for n in re.findall(rb"<PartNumber>(\d+)</PartNumber>", body)]
                with LOCK:
                    if numbers != sorted(up["parts"].keys()):
                        return self.s3_error(400, "InvalidPart", "parts do not match")
                    data = b"".join(up["parts"][n] for n in numbers)
                    OBJECTS[key] = {"body": data, "mode": up["mode"], "until": up["until"]}
                    del UPLOADS[uid]
                xml = "<CompleteMultipartUploadResult><Key>k</Key><ETag>\"x-%d\"</ETag></CompleteMultipartUploadResult>" % len(numbers)
                return self.send(200, xml.encode(), {"Content-Type": "application/xml"})
            if method == "DELETE":
                with LOCK:
                    UPLOADS.pop(uid, None)
                return self.send(204)
        if method == "PUT":
            mode, until, err = self.lock_headers_ok(True)
            if err:
                return self.s3_error(400, "InvalidRequest", err)
            with LOCK:
                OBJECTS[key] = {"body": body, "mode": mode, "until": until}
            return self.send(200, headers={"ETag": '"%s"' % hashlib.md5(body).hexdigest()})
        with LOCK:
            obj = OBJECTS.get(key)
        if method == "DELETE":
            if obj is None:
                return self.send(204)
            if obj["until"] and parse_date(obj["until"]) > datetime.datetime.now(datetime.timezone.utc):
                return self.s3_error(403, "AccessDenied", "Access Denied because object protected by object lock.")
            with LOCK:
                OBJECTS.pop(key, None)
            return self.send(204)
        if obj is None:
            return self.s3_error(404, "NoSuchKey", "The specified key does not exist.", head=method == "HEAD")
        data = obj["body"]
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if obj["mode"]:
            headers["x-amz-object-lock-mode"] = obj["mode"]
            headers["x-amz-object-lock-retain-until-date"] = obj["until"]
        status = 200
        rng = self.headers.get("Range")
        if rng and method == "GET":
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
            if not m:
                return self.s3_error(400, "InvalidArgument", "bad range")
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else len(data) - 1
            if first >= len(data):
                return self.s3_error(416, "InvalidRange", "The requested range is not satisfiable")
            last = min(last, len(data) - 1)
            headers["Content-Range"] = "bytes %d-%d/%d" % (first, last, len(data))
            data = data[first:last + 1]
            status = 206
        if getattr(self, "short_answer", False) and method == "GET":
            self.short_answer = False
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if method == "HEAD":
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(obj["body"])))
            self.end_headers()
            return
        return self.send(status, data, headers)

    def do_GET(self): self.handle_any("GET")
    def do_HEAD(self): self.handle_any("HEAD")
    def do_PUT(self): self.handle_any("PUT")
    def do_POST(self): self.handle_any("POST")
    def do_DELETE(self): self.handle_any("DELETE")


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
