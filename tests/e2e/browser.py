"""browser.py: headless Chromium for the end-to-end tests, driven over the
DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages ending
in a NUL byte on file descriptors 3 and 4), standard library only.

A page is opened the way a person opens it, and everything that would
spoil it is recorded: console errors and warnings, uncaught exceptions,
log entries of level error (a Content-Security-Policy violation, a failed
load), and every network request other than the page itself.

    with Browser() as b:
        p = b.open("file:///.../report.html")
        p.check_clean()                # fails on any error or request
        rows = p.eval("document.querySelectorAll('tr').length")
        p.screenshot("out/report.png", selector="#statistics")

Each wait has a deadline; a browser that hangs fails the test instead of
hanging it.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class BrowserError(Exception):
    pass


class Page:
    def __init__(self, browser, session, url):
        self.b = browser
        self.session = session
        self.url = url
        self.console = []    # (type, text) of console calls
        self.exceptions = []
        self.log = []        # (level, source, text, url)
        self.requests = []   # urls requested other than the page's own

    def call(self, method, params=None, timeout=30):
        return self.b.call(method, params, self.session, timeout)

    def eval(self, expression, timeout=30):
        r = self.call("Runtime.evaluate",
                      {"expression": expression, "returnByValue": True,
                       "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            raise BrowserError("evaluating %r: %s" % (
                expression[:80], json.dumps(r["exceptionDetails"])[:400]))
        return r["result"].get("value")

    def problems(self):
        out = []
        for t, text in self.console:
            if t in ("error", "warning", "assert"):
                out.append("console.%s: %s" % (t, text))
        for e in self.exceptions:
            out.append("exception: %s" % e)
        for level, source, text, url in self.log:
            if level in ("error", "warning"):
                out.append("log %s (%s): %s %s" % (level, source, text, url))
        for u in self.requests:
            out.append("network request: %s" % u)
        return out

    def check_clean(self):
        # let late events (a deferred fetch, a timer's error) arrive
        self.b.pump(0.5)
        p = self.problems()
        if p:
            raise BrowserError("%s:\n  %s" % (self.url, "\n  ".join(p)))

    def screenshot(self, path, selector=None, width=1280, max_height=4000):
        """A PNG of the whole page, or of one element (its bounding box),
        at most max_height CSS pixels tall."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1,
                   "mobile": False})
        if selector:
            box = self.eval(
                "(function(){var e=document.querySelector(%s);if(!e)return null;"
                "var r=e.getBoundingClientRect();return {x:r.left+scrollX,"
                "y:r.top+scrollY,w:r.width,h:r.height};})()" % json.dumps(selector))
            if not box:
                raise BrowserError("%s: no element %s to screenshot" % (self.url, selector))
        else:
            m = self.call("Page.getLayoutMetrics")
            cs = m.get("cssContentSize") or m["contentSize"]
            box = {"x": 0, "y": 0, "w": width, "h": cs["height"]}
        clip = {"x": box["x"], "y": box["y"], "width": max(1, box["w"]),
                "height": max(1, min(box["h"], max_height)), "scale": 1}
        r = self.call("Page.captureScreenshot",
                      {"format": "png", "clip": clip, "captureBeyondViewport": True},
                      timeout=60)
        data = base64.b64decode(r["data"])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


class Browser:
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="cfx-chromium-")
        r_in, self.w = os.pipe()   # we write, chromium reads fd 3
        self.r, w_out = os.pipe()  # chromium writes fd 4, we read
        args = [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                "--remote-debugging-pipe", "--user-data-dir=" + self.dir,
                "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--mute-audio", "--font-render-hinting=none",
                "about:blank"]
        self.log = open(os.path.join(self.dir, "chromium.log"), "wb")

        def fds():
            os.dup2(r_in, 3)
            os.dup2(w_out, 4)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     # 3 and 4 too: fds not listed are
                                     # closed after preexec_fn runs
                                     pass_fds=(r_in, w_out, 3, 4),
                                     preexec_fn=fds)
        os.close(r_in)
        os.close(w_out)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.pages = {}
        self.call("Target.setDiscoverTargets", {"discover": False})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.send("Browser.close", None, None)
        except OSError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, method, params, session):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read_one(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise BrowserError("chromium exited (see its log: %s)" %
                                   self.tail_log())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def tail_log(self):
        try:
            with open(os.path.join(self.dir, "chromium.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return "?"

    def dispatch(self, m):
        page = self.pages.get(m.get("sessionId"))
        if page is None:
            self.events.append(m)
            return
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", "")))
                            for a in p.get("args", []))
            page.console.append((p.get("type"), text))
        elif meth == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            page.exceptions.append(d.get("exception", {}).get("description") or
                                   d.get("text"))
        elif meth == "Log.entryAdded":
            e = p.get("entry", {})
            page.log.append((e.get("level"), e.get("source"), e.get("text"),
                             e.get("url", "")))
        elif meth == "Network.requestWillBeSent":
            u = p.get("request", {}).get("url", "")
            if u != page.url and not u.startswith("data:"):
                page.requests.append(u)
        self.events.append(m)

    def call(self, method, params=None, session=None, timeout=30):
        i = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            m = self.read_one(deadline)
            if m is None:
                raise BrowserError("%s: no answer in %d s" % (method, timeout))
            if m.get("id") == i:
                if "error" in m:
                    raise BrowserError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.dispatch(m)

    def pump(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            m = self.read_one(deadline)
            if m is None:
                return
            self.dispatch(m)

    def wait_event(self, method, session, timeout):
        deadline = time.monotonic() + timeout
        for k, m in enumerate(self.events):
            if m.get("method") == method and m.get("sessionId") == session:
                del self.events[k]
                return m
        while True:
            m = self.read_one(deadline)
            if m is None:
                raise BrowserError("no %s in %d s" % (method, timeout))
            self.dispatch(m)
            if m.get("method") == method and m.get("sessionId") == session:
                self.events.remove(m)
                return m

    def open(self, url, timeout=None, headers=None):
        """Opens url in a new tab and waits for its load event; headers
        (a dict) are sent with every request of the tab."""
        timeout = timeout or self.timeout
        t = self.call("Target.createTarget", {"url": "about:blank"})
        s = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True})["sessionId"]
        page = Page(self, s, url)
        self.pages[s] = page
        for dom in ("Runtime.enable", "Log.enable", "Network.enable",
                    "Page.enable"):
            page.call(dom)
        if headers:
            page.call("Network.setExtraHTTPHeaders", {"headers": headers})
        self.events = [m for m in self.events if m.get("sessionId") != s]
        r = page.call("Page.navigate", {"url": url}, timeout)
        if r.get("errorText"):
            raise BrowserError("%s: %s" % (url, r["errorText"]))
        self.wait_event("Page.loadEventFired", s, timeout)
        return page
