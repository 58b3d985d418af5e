"""GStreamer VP8 receiver for a stream whose resolution changes (a simulcast consumer).

  udpsrc (rtp socket)  -> [wire probe] -> rtpbin session 0 (AVPF) -> rtpvp8depay -> vp8dec -> count
  udpsrc (rtcp socket) -> rtpbin recv_rtcp_sink   (SR)
  rtpbin send_rtcp_src -> udpsink (the rtcp socket) -> --rtcp-dest   (RR, PLI)

What it reports, as JSON lines on stdout:
  ready  {rtpPort, rtcpPort}
  caps   {width, height, decoded}   the decoder's output caps changed (a new resolution)
  wirekey {width, height, pictureId} a VP8 key frame arrived (size from its frame header)
  tick   {...}                      every 200 ms: the counters below
  done   {...}                      on "stop" on stdin, stdin closing, or --timeout

The wire probe reads every RTP packet before rtpbin does and checks what a decoder relies on:
one SSRC and payload type, sequence numbers +1 each, RTP timestamps moving forward by what
the wall clock says between two frames (within a second: a consumer that freezes while
it waits for a key frame must not shrink or stretch time), the 15-bit PictureID +1 per
frame, the first frame a key frame.
Decode errors are the decoder's bus warnings and errors. "pli" on stdin sends a
GstForceKeyUnit upstream into rtpbin, which turns it into an RTCP PLI (RFC 4585 §6.3.1)
toward the worker; "status" emits a tick at once.
"""

import argparse
import struct
import sys
import time

from gstpeer import emit, load_gst, make, run_bus, structure_to_dict, udp_drops, udp_socket


class WireCheck:
    """Per-packet checks of the RTP stream as it arrives (RFC 3550 header, RFC 7741 §4.2
    descriptor, RFC 6386 §9.1 key frame header)."""

    def __init__(self, pt, ssrc):
        self.pt = pt
        self.ssrc = ssrc
        self.c = {
            "packets": 0, "frames": 0, "keyframes": 0, "otherSsrc": 0, "otherPt": 0,
            "seqGaps": 0, "tsBackward": 0, "tsJumps": 0, "pictureIdGaps": 0,
            "noPictureId": 0, "firstFrameKey": None, "badDescriptor": 0, "framesWithoutMarker": 0,
        }
        self.last_seq = None
        self.last_marker = True
        self.last_ts = None
        self.last_arrival = None
        self.worst_ts_skew = 0.0  # the largest |RTP time - arrival time| between two frames, s
        self.last_pid = None
        self.keyframes = []  # (width, height, pictureId) as they arrive
        self.gaps = []  # the first few sequence gaps: [previous seq, seq, packets before]

    def packet(self, data):
        c = self.c
        if len(data) < 12 or data[0] >> 6 != 2:
            return None
        pt = data[1] & 0x7F
        seq, ts, ssrc = struct.unpack_from("!HII", data, 2)
        if ssrc != self.ssrc:
            c["otherSsrc"] += 1
            return None
        if pt != self.pt:
            c["otherPt"] += 1
            return None
        c["packets"] += 1
        if self.last_seq is not None and seq != (self.last_seq + 1) & 0xFFFF:
            c["seqGaps"] += 1
            if len(self.gaps) < 8:
                self.gaps.append([self.last_seq, seq, c["packets"] - 1])
        self.last_seq = seq
        offset = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:  # header extension
            if len(data) < offset + 4:
                c["badDescriptor"] += 1
                return None
            offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
        payload = data[offset:len(data) - (data[-1] if data[0] & 0x20 else 0)]
        d = parse_vp8_descriptor(payload)
        if d is None:
            c["badDescriptor"] += 1
            return None
        new_frame = self.last_ts is None or ts != self.last_ts
        if new_frame:
            c["frames"] += 1
            if not self.last_marker:
                c["framesWithoutMarker"] += 1  # the previous frame ended without its last packet
            now = time.monotonic()
            if self.last_ts is not None:
                delta = (ts - self.last_ts) & 0xFFFFFFFF
                if delta >= 0x80000000:
                    c["tsBackward"] += 1
                else:
                    skew = abs(delta / 90000 - (now - self.last_arrival))
                    self.worst_ts_skew = max(self.worst_ts_skew, skew)
                    if skew > 1.0:
                        c["tsJumps"] += 1
            self.last_ts = ts
            self.last_arrival = now
            if d["pictureId"] is None:
                c["noPictureId"] += 1
            else:
                if self.last_pid is not None and d["pictureId"] != (self.last_pid + 1) & 0x7FFF:
                    c["pictureIdGaps"] += 1
                self.last_pid = d["pictureId"]
            if c["firstFrameKey"] is None:
                c["firstFrameKey"] = d["key"] is not None
        self.last_marker = (data[1] & 0x80) != 0
        if d["key"] is not None:
            c["keyframes"] += 1
            self.keyframes.append((*d["key"], d["pictureId"]))
            return d["key"], d["pictureId"]
        return None


def parse_vp8_descriptor(p):
    """{pictureId, key: (width, height) or None}, or None when it does not parse."""
    if len(p) < 1:
        return None
    i = 1
    pid = None
    if p[0] & 0x80:  # X
        if len(p) < 2:
            return None
        x = p[1]
        i = 2
        if x & 0x80:  # I
            if len(p) < i + 1:
                return None
            if p[i] & 0x80:  # M: 15 bits
                if len(p) < i + 2:
                    return None
                pid = ((p[i] & 0x7F) << 8) | p[i + 1]
                i += 2
            else:
                pid = p[i] & 0x7F
                i += 1
        if x & 0x40:  # L
            i += 1
        if x & 0x30:  # T or K
            i += 1
    if len(p) <= i:
        return None
    start_of_partition_0 = (p[0] & 0x10) and (p[0] & 0x07) == 0
    key = None
    # Frame tag (3 bytes, P bit = 0 for a key frame), start code 9d 01 2a, then 14-bit
    # width and height with 2 bits of scaling each (RFC 6386 §9.1).
    if start_of_partition_0 and (p[i] & 0x01) == 0 and len(p) >= i + 10:
        if p[i + 3:i + 6] == b"\x9d\x01\x2a":
            width, height = struct.unpack_from("<HH", p, i + 6)
            key = (width & 0x3FFF, height & 0x3FFF)
    return {"pictureId": pid, "key": key}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtcp-dest", required=True, help="host:port to send RTCP to")
    parser.add_argument("--pt", type=int, default=96)
    parser.add_argument("--ssrc", type=lambda s: int(s, 0), required=True)
    parser.add_argument("--latency", type=int, default=100, help="jitterbuffer ms")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    dest_host, dest_port = args.rtcp_dest.rsplit(":", 1)

    Gst, GLib, Gio = load_gst()
    pipeline = Gst.Pipeline.new("simreceiver")
    rtp_sock, rtp_port = udp_socket(Gio)
    rtcp_sock, rtcp_port = udp_socket(Gio)
    # rtcp-fb-nack-pli: rtpsession turns an upstream GstForceKeyUnit into a PLI.
    media_caps = (f"application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,"
                  f"payload={args.pt},rtcp-fb-nack-pli=(boolean)true")
    rtp_in = make(Gst, "udpsrc", socket=rtp_sock, close_socket=False,
                  caps=Gst.Caps.from_string(media_caps))
    rtcp_in = make(Gst, "udpsrc", socket=rtcp_sock, close_socket=False,
                   caps=Gst.Caps.from_string("application/x-rtcp"))
    rtcp_out = make(Gst, "udpsink", socket=rtcp_sock, close_socket=False, host=dest_host,
                    port=int(dest_port), sync=False, async_=False)
    rtpbin = make(Gst, "rtpbin", latency=args.latency)
    Gst.util_set_object_arg(rtpbin, "rtp-profile", "avpf")
    depay = make(Gst, "rtpvp8depay", wait_for_keyframe=True)
    dec = make(Gst, "vp8dec")
    sink = make(Gst, "fakesink", sync=False, async_=False)
    for element in (rtp_in, rtcp_in, rtcp_out, rtpbin, depay, dec, sink):
        pipeline.add(element)
    assert depay.link(dec) and dec.link(sink)

    wire = WireCheck(args.pt, args.ssrc)
    state = {"decoded": 0, "width": 0, "height": 0, "capsChanges": 0, "decodeErrors": 0,
             "keyframesRequested": 0, "plisAsked": 0, "done": False}
    unexpected_pads = []

    def on_pt_map(_rtpbin, _session, pt):
        return Gst.Caps.from_string(media_caps) if pt == args.pt else None

    def on_pad_added(_rtpbin, pad):
        name = pad.get_name()  # recv_rtp_src_<session>_<ssrc>_<pt>
        if not name.startswith("recv_rtp_src_"):
            return
        _, _, _, _, ssrc, pt = name.split("_")
        sinkpad = depay.get_static_pad("sink")
        if int(ssrc) == args.ssrc and int(pt) == args.pt and not sinkpad.is_linked():
            pad.link(sinkpad)
        else:
            unexpected_pads.append(name)
            fake = make(Gst, "fakesink", sync=False, async_=False)
            pipeline.add(fake)
            fake.sync_state_with_parent()
            pad.link(fake.get_static_pad("sink"))

    rtpbin.connect("request-pt-map", on_pt_map)
    rtpbin.connect("pad-added", on_pad_added)
    assert rtp_in.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtp_sink_0")) == Gst.PadLinkReturn.OK
    assert rtcp_in.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtcp_sink_0")) == Gst.PadLinkReturn.OK
    assert rtpbin.request_pad_simple("send_rtcp_src_0").link(rtcp_out.get_static_pad("sink")) == Gst.PadLinkReturn.OK
    # Early feedback (the PLI) needs room in the RTCP budget: see receiver.py.
    session = rtpbin.emit("get-session", 0)
    session.set_property("rtcp-fraction", 200_000.0)
    session.set_property("rtcp-rr-bandwidth", 200_000)
    session.set_property("rtcp-min-interval", 50 * Gst.MSECOND)

    def on_wire(_pad, info):
        buf = info.get_buffer()
        key = wire.packet(buf.extract_dup(0, buf.get_size()))
        if key is not None:
            (width, height), pid = key
            emit("wirekey", width=width, height=height, pictureId=pid, decoded=state["decoded"],
                 packet=wire.c["packets"])
        return Gst.PadProbeReturn.OK

    def on_decoded(_pad, _info):
        state["decoded"] += 1
        return Gst.PadProbeReturn.OK

    def on_caps(_pad, info):
        event = info.get_event()
        if event.type == Gst.EventType.CAPS:
            s = event.parse_caps().get_structure(0)
            width, height = s.get_value("width"), s.get_value("height")
            if (width, height) != (state["width"], state["height"]):
                state["width"], state["height"] = width, height
                state["capsChanges"] += 1
                emit("caps", width=width, height=height, decoded=state["decoded"])
        return Gst.PadProbeReturn.OK

    def on_keyframe_request(_pad, info):
        structure = info.get_event().get_structure()
        if structure is not None and structure.get_name() == "GstForceKeyUnit":
            state["keyframesRequested"] += 1
        return Gst.PadProbeReturn.OK

    rtp_in.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_wire)
    dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_decoded)
    dec.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_caps)
    depay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, on_keyframe_request)

    def counters():
        return {**wire.c, **{k: v for k, v in state.items() if k != "done"},
                "unexpectedPads": unexpected_pads}

    def tick():
        if not state["done"]:
            emit("tick", **counters())
        return not state["done"]

    def ask_pli():
        # What a decoder does when it wants a key frame: rtpbin's session turns this
        # upstream event into an RTCP PLI for the stream's SSRC.
        peer = depay.get_static_pad("sink").get_peer()
        if peer is None:
            emit("error", where="simreceiver", message="pli: nothing linked to the depayloader yet")
            return
        structure = Gst.Structure.new_from_string("GstForceKeyUnit, all-headers=(boolean)true")
        state["plisAsked"] += 1
        peer.send_event(Gst.Event.new_custom(Gst.EventType.CUSTOM_UPSTREAM, structure))

    loop = GLib.MainLoop()

    def finish(reason):
        if state["done"]:
            return False
        state["done"] = True
        session = rtpbin.emit("get-internal-session", 0)
        emit("done", reason=reason, **counters(), seqGapList=wire.gaps,
             worstTsSkewMs=round(wire.worst_ts_skew * 1000),
             kernelDrops=udp_drops(rtp_port),
             session=structure_to_dict(session.get_property("stats")) if session else {})
        loop.quit()
        return False

    def on_stdin(channel, condition):
        line = channel.readline().strip() if condition & GLib.IOCondition.IN else ""
        if line == "pli":
            ask_pli()
        elif line == "status":
            tick()
        else:
            finish("stopped by controller" if line == "stop" else "stdin closed")
            return False
        return True

    def on_message(_bus, message):
        if message.type in (Gst.MessageType.WARNING, Gst.MessageType.ERROR) and message.src == dec:
            state["decodeErrors"] += 1
        return True

    stdin = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(stdin, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    GLib.timeout_add(int(args.timeout * 1000), finish, "timeout")
    GLib.timeout_add(200, tick)

    run_bus(Gst, GLib, pipeline, loop, "simreceiver")
    pipeline.get_bus().connect("message", on_message)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        emit("error", where="simreceiver", message="pipeline cannot go to PLAYING")
        sys.exit(1)
    emit("ready", rtpPort=rtp_port, rtcpPort=rtcp_port)
    loop.run()
    pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
