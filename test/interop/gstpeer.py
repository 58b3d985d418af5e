"""Shared plumbing for the GStreamer peers of the interop tests.

The peers talk to the controller (vp8-rtx.mjs) with one JSON object per line on stdout
({"event": ...}); GStreamer's own chatter goes to stderr. They run under Debian's system
python3 because python3-gi / gir1.2-gstreamer-1.0 live there, not in a pyenv or venv.

`python3 gstpeer.py` checks that everything the peers need is present and exits 77 (the
meson "skipped" code) with a message naming what is missing otherwise.
"""

import json
import socket
import sys
import threading

SKIP = 77
# Everything the sender and receiver instantiate, by factory name (and the Debian package).
REQUIRED_ELEMENTS = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "capsfilter": "libgstreamer1.0-0",
    "funnel": "libgstreamer1.0-0",
    "fakesink": "libgstreamer1.0-0",
    "udpsrc": "gstreamer1.0-plugins-good",
    "udpsink": "gstreamer1.0-plugins-good",
    "rtpbin": "gstreamer1.0-plugins-good",
    "rtprtxsend": "gstreamer1.0-plugins-good",
    "rtprtxreceive": "gstreamer1.0-plugins-good",
    "rtpvp8pay": "gstreamer1.0-plugins-good",
    "rtpvp8depay": "gstreamer1.0-plugins-good",
    "vp8enc": "gstreamer1.0-plugins-good",
    "vp8dec": "gstreamer1.0-plugins-good",
}


def load_gst():
    """Returns (Gst, GLib, Gio) or exits 77 naming what is missing."""
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib, Gst
    except (ImportError, ValueError) as error:
        print(
            f"SKIP: GStreamer Python bindings not usable with {sys.executable} ({error}); "
            "install python3-gi gir1.2-gstreamer-1.0 python3-gst-1.0 (scripts/setup does)",
            file=sys.stderr,
        )
        sys.exit(SKIP)
    Gst.init(None)
    missing = sorted(
        f"{name} ({package})"
        for name, package in REQUIRED_ELEMENTS.items()
        if Gst.ElementFactory.find(name) is None
    )
    if missing:
        print("SKIP: GStreamer elements missing: " + ", ".join(missing), file=sys.stderr)
        sys.exit(SKIP)
    return Gst, GLib, Gio


_emit_lock = threading.Lock()


def emit(event, **fields):
    """One line of JSON to the controller. GStreamer calls back from its streaming threads,
    and print() writes the text and the newline apart: one write under a lock keeps two
    threads' lines from running into each other."""
    line = json.dumps({"event": event, **fields}) + "\n"
    with _emit_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


def udp_drops(port):
    """Datagrams the kernel dropped on the local UDP port (receive buffer full), from
    /proc/net/udp; None when the port is not listed."""
    try:
        with open("/proc/net/udp") as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                if int(fields[1].split(":")[1], 16) == port:
                    return int(fields[-1])
    except OSError:
        pass
    return None


def make(Gst, factory, **props):
    element = Gst.ElementFactory.make(factory, None)
    if element is None:
        raise RuntimeError(f"cannot create {factory}")
    for key, value in props.items():
        element.set_property(key.rstrip("_").replace("_", "-"), value)
    return element


def udp_socket(Gio, host="127.0.0.1"):
    """A UDP socket bound to an ephemeral port, as a Gio.Socket that udpsrc and udpsink can
    share: the peer sends from the very port it receives on (what comedia and the relay's
    return path rely on). Returns (gio_socket, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    # Gio takes ownership of the descriptor.
    return Gio.Socket.new_from_fd(sock.detach()), port


def uint_map(Gst, name, pairs):
    """A GstStructure of string keys to guint values, as rtprtx{send,receive} expect."""
    from gi.repository import GObject

    structure = Gst.Structure.new_empty(name)
    for key, value in pairs.items():
        gvalue = GObject.Value(GObject.TYPE_UINT, int(value))
        structure.set_value(str(key), gvalue)
    return structure


def structure_to_dict(structure):
    """Plain values of a GstStructure (stats), for JSON."""
    out = {}
    if structure is None:
        return out
    for i in range(structure.n_fields()):
        name = structure.nth_field_name(i)
        value = structure.get_value(name)
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def run_bus(Gst, GLib, pipeline, loop, tag):
    """Errors on the bus end the peer with exit code 1."""
    bus = pipeline.get_bus()
    bus.add_signal_watch()

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            emit("error", where=tag, message=str(error), debug=debug)
            loop.quit()
            sys.exit(1)
        elif message.type == Gst.MessageType.WARNING:
            warning, debug = message.parse_warning()
            print(f"{tag}: warning: {warning} ({debug})", file=sys.stderr)
        return True

    bus.connect("message", on_message)


if __name__ == "__main__":
    Gst, _GLib, _Gio = load_gst()
    print(f"ok: {Gst.version_string()} via {sys.executable}")
