"""smtp_sink.py - the members' mail servers, as one SMTP server on loopback.

Postfix in the install test relays every outgoing message here (its
relayhost, the administrator's debconf answer). The sink accepts every
transaction and keeps it: envelope sender, recipients and the message
bytes, in memory and as files DIRECTORY/N.eml with DIRECTORY/N.json (the
envelope), for a post-mortem.

With TLS (a certificate and its key) it offers STARTTLS; with LOGIN (a
user name and password) it is a smarthost as SMTP2GO is one: AUTH PLAIN
and LOGIN are offered once TLS is on, and MAIL is refused (530) until the
client logged in with those credentials (535 for others). Each message
records whether it came over TLS and the user that sent it.

    sink = Sink("127.0.0.1", 2525, directory, tls=(cert, key),
                login=("user", "password"))
    sink.messages()       # [Message]
    sink.close()
"""
import base64
import json
import os
import socketserver
import ssl
import threading


class Message:
    def __init__(self, client, helo, sender, rcpts, data, tls=False, user=None):
        self.client = client
        self.helo = helo
        self.sender = sender
        self.rcpts = rcpts
        self.data = data   # bytes, CRLF line ends, dot-stuffing undone
        self.tls = tls     # the message came after STARTTLS
        self.user = user   # who logged in (AUTH), or None


def _addr(arg):
    """The address in "FROM:<a@b> SIZE=1" or "TO:<a@b>"."""
    start, end = arg.find("<"), arg.find(">")
    return arg[start + 1:end] if 0 <= start < end else arg.split(":", 1)[-1].strip()


class _Handler(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        helo, sender, rcpts = "", None, []
        self.tls, self.user = False, None
        sink = self.server.sink
        self.reply("220 sink.example ESMTP test sink")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb, _, arg = line.decode("latin-1").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                helo = arg
                ext = ["8BITMIME", "SMTPUTF8"]
                if sink.tls and not self.tls:
                    ext.append("STARTTLS")
                if sink.login and self.tls:
                    ext.append("AUTH PLAIN LOGIN")
                self.reply("\r\n".join("250-" + x for x in ["sink.example"] + ext[:-1])
                           + "\r\n250 " + ext[-1] if verb == "EHLO" else "250 sink.example")
            elif verb == "STARTTLS" and sink.tls and not self.tls:
                self.reply("220 2.0.0 Ready to start TLS")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*sink.tls)
                try:
                    self.connection = ctx.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                self.tls, helo = True, ""
            elif verb == "AUTH" and sink.login and self.tls and self.user is None:
                self.auth(arg)
            elif verb == "MAIL":
                if sink.login and self.user is None:
                    self.reply("530 5.7.0 Authentication required")
                    continue
                sender, rcpts = _addr(arg), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                rcpts.append(_addr(arg))
                self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self.read_data()
                if data is None:
                    return
                sink.keep(Message(self.client_address[0], helo, sender, rcpts, data,
                                  self.tls, self.user))
                sender, rcpts = None, []
                self.reply("250 2.0.0 Ok: queued")
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")

    def auth(self, arg):
        """AUTH PLAIN [initial response] or AUTH LOGIN."""
        mech, _, initial = arg.partition(" ")

        def answer(prompt):
            self.reply("334 " + prompt)
            return self.rfile.readline(4096).decode("latin-1").strip()

        try:
            if mech.upper() == "PLAIN":
                raw = base64.b64decode(initial or answer(""), validate=True)
                _, user, password = raw.decode("utf-8").split("\0")
            elif mech.upper() == "LOGIN":
                user = base64.b64decode(answer("VXNlcm5hbWU6")).decode("utf-8")
                password = base64.b64decode(answer("UGFzc3dvcmQ6")).decode("utf-8")
            else:
                self.reply("504 5.5.4 Unrecognized authentication type")
                return
        except (ValueError, UnicodeDecodeError):
            self.reply("501 5.5.2 Cannot decode the response")
            return
        if (user, password) != self.server.sink.login:
            self.reply("535 5.7.8 Authentication credentials invalid")
            return
        self.user = user
        self.reply("235 2.7.0 Authentication successful")

    def read_data(self):
        out = []
        while True:
            line = self.rfile.readline(1 << 20)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(out)
            if line.startswith(b"."):
                line = line[1:]
            out.append(line)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Sink:
    def __init__(self, host, port, directory, tls=None, login=None):
        self.dir = directory
        self.tls = tls       # (certificate file, key file), or None
        self.login = login   # (user, password), or None
        os.makedirs(directory, exist_ok=True)
        self.lock = threading.Lock()
        self._messages = []
        self.server = _Server((host, port), _Handler)
        self.server.sink = self
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def keep(self, msg):
        with self.lock:
            self._messages.append(msg)
            n = len(self._messages)
        base = os.path.join(self.dir, "%d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(msg.data)
        with open(base + ".json", "w") as f:
            json.dump({"client": msg.client, "helo": msg.helo,
                       "sender": msg.sender, "rcpts": msg.rcpts,
                       "tls": msg.tls, "user": msg.user}, f)

    def messages(self):
        with self.lock:
            return list(self._messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
