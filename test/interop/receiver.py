"""GStreamer VP8 receiver with NACK and RTX (RFC 4588, SSRC-multiplexed).

  udpsrc (rtp socket)  -> rtpbin session 0 (AVPF, do-retransmission) -> rtprtxreceive (aux)
                          -> jitterbuffer -> rtpvp8depay (wait-for-keyframe) -> vp8dec -> count
  udpsrc (rtcp socket) -> rtpbin recv_rtcp_sink   (SR from the sender side)
  rtpbin send_rtcp_src -> udpsink (the rtcp socket) -> --rtcp-dest   (RR, SDES, NACK)

RTP and RTCP arrive on two local ports (the relay splits the muxed stream; rtpbin has no
rtcp-mux demuxer). The jitterbuffer asks for lost packets with NACK; rtprtxreceive restores
the RTX packets that answer them. wait-for-keyframe makes any loss that is NOT repaired cost
every frame up to the next keyframe, so "decoded == sent" means every packet arrived intact.

It prints {"event": "ready", "rtpPort", "rtcpPort"} once listening, then
{"event": "done", ...} when --frames frames are decoded, when "stop" arrives on stdin, or
after --timeout seconds; then it exits 0 (the controller judges the numbers).
"""

import argparse
import sys

from gstpeer import emit, load_gst, make, run_bus, structure_to_dict, udp_socket, uint_map


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtcp-dest", required=True, help="host:port to send RTCP to")
    parser.add_argument("--pt", type=int, default=96)
    parser.add_argument("--rtx-pt", type=int, default=97)
    parser.add_argument("--ssrc", type=int, default=0x11112222)
    parser.add_argument("--rtx-ssrc", type=int, default=0x33334444)
    parser.add_argument("--frames", type=int, default=300, help="stop once this many decoded")
    parser.add_argument("--latency", type=int, default=300, help="jitterbuffer ms")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    dest_host, dest_port = args.rtcp_dest.rsplit(":", 1)

    Gst, GLib, Gio = load_gst()
    pipeline = Gst.Pipeline.new("receiver")
    rtp_sock, rtp_port = udp_socket(Gio)
    rtcp_sock, rtcp_port = udp_socket(Gio)

    media_caps = (
        f"application/x-rtp,media=video,clock-rate=90000,encoding-name=VP8,payload={args.pt}"
    )
    rtx_caps = (
        f"application/x-rtp,media=video,clock-rate=90000,encoding-name=RTX,"
        f"payload={args.rtx_pt},apt={args.pt}"
    )
    rtp_in = make(Gst, "udpsrc", socket=rtp_sock, close_socket=False,
                  caps=Gst.Caps.from_string(media_caps))
    rtcp_in = make(Gst, "udpsrc", socket=rtcp_sock, close_socket=False,
                   caps=Gst.Caps.from_string("application/x-rtcp"))
    rtcp_out = make(Gst, "udpsink", socket=rtcp_sock, close_socket=False, host=dest_host,
                    port=int(dest_port), sync=False, async_=False)
    rtpbin = make(Gst, "rtpbin", latency=args.latency, do_retransmission=True, do_lost=True)
    Gst.util_set_object_arg(rtpbin, "rtp-profile", "avpf")
    depay = make(Gst, "rtpvp8depay", wait_for_keyframe=True)
    dec = make(Gst, "vp8dec")
    sink = make(Gst, "fakesink", sync=False, async_=False)
    for element in (rtp_in, rtcp_in, rtcp_out, rtpbin, depay, dec, sink):
        pipeline.add(element)
    assert depay.link(dec) and dec.link(sink)

    parts = {}

    def on_pt_map(_rtpbin, _session, pt):
        if pt == args.pt:
            return Gst.Caps.from_string(media_caps)
        if pt == args.rtx_pt:
            return Gst.Caps.from_string(rtx_caps)
        return None

    def on_aux_receiver(_rtpbin, session):
        bin_ = Gst.Bin.new(f"rtx-receive-{session}")
        rtxrecv = make(Gst, "rtprtxreceive")
        rtxrecv.set_property("payload-type-map", uint_map(Gst, "application/x-rtp-pt-map", {args.pt: args.rtx_pt}))
        rtxrecv.set_property("ssrc-map", uint_map(Gst, "application/x-rtp-ssrc-map", {args.ssrc: args.rtx_ssrc}))
        bin_.add(rtxrecv)
        bin_.add_pad(Gst.GhostPad.new(f"src_{session}", rtxrecv.get_static_pad("src")))
        bin_.add_pad(Gst.GhostPad.new(f"sink_{session}", rtxrecv.get_static_pad("sink")))
        parts["rtx"] = rtxrecv
        return bin_

    def on_new_jitterbuffer(_rtpbin, jitterbuffer, _session, ssrc):
        if ssrc == args.ssrc:
            parts["jitterbuffer"] = jitterbuffer

    unexpected_pads = []

    def on_pad_added(_rtpbin, pad):
        name = pad.get_name()
        # recv_rtp_src_<session>_<ssrc>_<pt>
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
    rtpbin.connect("request-aux-receiver", on_aux_receiver)
    rtpbin.connect("new-jitterbuffer", on_new_jitterbuffer)
    rtpbin.connect("pad-added", on_pad_added)

    assert rtp_in.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtp_sink_0")) == Gst.PadLinkReturn.OK
    assert rtcp_in.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtcp_sink_0")) == Gst.PadLinkReturn.OK
    assert rtpbin.request_pad_simple("send_rtcp_src_0").link(rtcp_out.get_static_pad("sink")) == Gst.PadLinkReturn.OK
    # AVPF lets a receiver send ONE early RTCP (our NACK) between two regular reports; the next
    # NACK waits for the next regular report, and rtpsession discards it if the jitterbuffer's
    # retry deadline (about one frame) passes first. Regular reports scale with the RTCP
    # bandwidth (RFC 3550 6.2), so give the receiver plenty: a report every few tens of ms on
    # loopback, so every loss is NACKed within a frame or two.
    session = rtpbin.emit("get-session", 0)
    # With the sender's two SSRCs among three members, senders exceed 25% of the session and
    # RFC 3550 6.3.1 sizes everyone's interval from the TOTAL RTCP bandwidth: raise both.
    session.set_property("rtcp-fraction", 200_000.0)
    session.set_property("rtcp-rr-bandwidth", 200_000)
    session.set_property("rtcp-min-interval", 50 * Gst.MSECOND)

    loop = GLib.MainLoop()
    state = {"decoded": 0, "keyframes_requested": 0, "done": False}

    def count_decoded(_pad, _info):
        state["decoded"] += 1
        if state["decoded"] == args.frames:
            GLib.idle_add(finish, "all frames decoded")
        return Gst.PadProbeReturn.OK

    def count_keyframe_requests(_pad, info):
        structure = info.get_event().get_structure()
        if structure is not None and structure.get_name() == "GstForceKeyUnit":
            state["keyframes_requested"] += 1
        return Gst.PadProbeReturn.OK

    dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count_decoded)
    depay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, count_keyframe_requests)

    def finish(reason):
        if state["done"]:
            return False
        state["done"] = True
        jitterbuffer = parts.get("jitterbuffer")
        rtxrecv = parts.get("rtx")
        session = rtpbin.emit("get-internal-session", 0)
        emit(
            "done",
            reason=reason,
            decoded=state["decoded"],
            keyframesRequested=state["keyframes_requested"],
            jitterbuffer=structure_to_dict(jitterbuffer.get_property("stats")) if jitterbuffer else None,
            rtxRequests=rtxrecv.get_property("num-rtx-requests") if rtxrecv else 0,
            rtxPackets=rtxrecv.get_property("num-rtx-packets") if rtxrecv else 0,
            rtxAssociated=rtxrecv.get_property("num-rtx-assoc-packets") if rtxrecv else 0,
            unexpectedPads=unexpected_pads,
            session=structure_to_dict(session.get_property("stats")) if session else {},
        )
        loop.quit()
        return False

    def on_stdin(channel, condition):
        line = channel.readline() if condition & GLib.IOCondition.IN else ""
        if not line or line.strip() == "stop":
            finish("stopped by controller" if line else "stdin closed")
            return False
        return True

    stdin = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(stdin, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    GLib.timeout_add(int(args.timeout * 1000), finish, "timeout")

    run_bus(Gst, GLib, pipeline, loop, "receiver")
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        emit("error", where="receiver", message="pipeline cannot go to PLAYING")
        sys.exit(1)
    emit("ready", rtpPort=rtp_port, rtcpPort=rtcp_port)
    loop.run()
    pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
