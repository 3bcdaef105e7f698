"""smtp_sink.py - the members' mail servers, as one SMTP server on loopback.

Postfix in the install test relays every outgoing message here (its
relayhost, the administrator's debconf answer). The sink accepts every
transaction and keeps it: envelope sender, recipients and the message
bytes, in memory and as files DIRECTORY/N.eml with DIRECTORY/N.json (the
envelope), for a post-mortem.

    sink = Sink("127.0.0.1", 2525, directory)
    sink.messages()       # [Message]
    sink.close()
"""
import json
import os
import socketserver
import threading


class Message:
    def __init__(self, client, helo, sender, rcpts, data):
        self.client = client
        self.helo = helo
        self.sender = sender
        self.rcpts = rcpts
        self.data = data   # bytes, CRLF line ends, dot-stuffing undone


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
        self.reply("220 sink.example ESMTP test sink")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb, _, arg = line.decode("latin-1").rstrip("\r\n").partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                helo = arg
                self.reply("250-sink.example\r\n250-8BITMIME\r\n250 SMTPUTF8"
                           if verb == "EHLO" else "250 sink.example")
            elif verb == "MAIL":
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
                self.server.sink.keep(Message(self.client_address[0], helo,
                                              sender, rcpts, data))
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
    def __init__(self, host, port, directory):
        self.dir = directory
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
                       "sender": msg.sender, "rcpts": msg.rcpts}, f)

    def messages(self):
        with self.lock:
            return list(self._messages)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
