"""GStreamer VP8 sender with RTX (RFC 4588, SSRC-multiplexed), RTP and RTCP on one socket.

  videotestsrc (live, 30 fps) -> vp8enc (realtime, error resilient, keyframe every second)
    -> [count; drop everything after --frames] -> rtpvp8pay (pt, ssrc, 15-bit picture id)
    -> rtpbin session 0 (AVPF) with rtprtxsend as aux sender (rtx pt, rtx ssrc)
    -> funnel (RTP + RTCP, i.e. rtcp-mux) -> udpsink ---------------------------> --dest
  udpsrc (the same socket) -> rtpbin recv_rtcp_sink: RR, NACK -> rtprtxsend answers with RTX;
                                                    PLI/FIR -> vp8enc makes a keyframe.

The pipeline never goes EOS: after --frames encoded frames the probe drops the rest, so the
session keeps answering NACKs (and sending SR) for --linger seconds, then the sender prints
{"event": "done", ...} and exits 0. Events on stdout (JSON lines): ready, done, error.
"""

import argparse
import sys

from gstpeer import emit, load_gst, make, run_bus, structure_to_dict, udp_socket, uint_map


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", required=True, help="host:port that receives RTP+RTCP")
    parser.add_argument("--pt", type=int, default=96)
    parser.add_argument("--rtx-pt", type=int, default=97)
    parser.add_argument("--ssrc", type=int, default=0x11112222)
    parser.add_argument("--rtx-ssrc", type=int, default=0x33334444)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--keyframe-interval", type=int, default=30, help="frames")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--bitrate", type=int, default=1_000_000, help="bits/s")
    parser.add_argument("--linger", type=float, default=1.5, help="s to keep answering NACKs")
    args = parser.parse_args()
    dest_host, dest_port = args.dest.rsplit(":", 1)

    Gst, GLib, Gio = load_gst()
    pipeline = Gst.Pipeline.new("sender")
    gsock, local_port = udp_socket(Gio)

    src = make(Gst, "videotestsrc", is_live=True, pattern="smpte", horizontal_speed=4)
    caps = make(
        Gst,
        "capsfilter",
        caps=Gst.Caps.from_string(
            f"video/x-raw,format=I420,width={args.width},height={args.height},"
            f"framerate={args.fps}/1"
        ),
    )
    enc = make(
        Gst,
        "vp8enc",
        deadline=1,
        cpu_used=8,
        threads=1,
        lag_in_frames=0,
        keyframe_max_dist=args.keyframe_interval,
        target_bitrate=args.bitrate,
    )
    Gst.util_set_object_arg(enc, "error-resilient", "default+partitions")
    Gst.util_set_object_arg(enc, "end-usage", "cbr")
    pay = make(Gst, "rtpvp8pay", pt=args.pt, ssrc=args.ssrc, mtu=1200)
    Gst.util_set_object_arg(pay, "picture-id-mode", "15-bit")
    rtpbin = make(Gst, "rtpbin")
    Gst.util_set_object_arg(rtpbin, "rtp-profile", "avpf")
    funnel = make(Gst, "funnel")
    sink = make(
        Gst,
        "udpsink",
        socket=gsock,
        close_socket=False,
        host=dest_host,
        port=int(dest_port),
        sync=False,
        async_=False,  # do not wait for a first buffer before PLAYING
    )
    rtcp_in = make(
        Gst,
        "udpsrc",
        socket=gsock,
        close_socket=False,
        caps=Gst.Caps.from_string("application/x-rtcp"),
    )
    for element in (src, caps, enc, pay, rtpbin, funnel, sink, rtcp_in):
        pipeline.add(element)

    rtx = {}

    def on_aux_sender(_rtpbin, session):
        bin_ = Gst.Bin.new(f"rtx-send-{session}")
        rtxsend = make(Gst, "rtprtxsend", max_size_packets=1000)
        rtxsend.set_property("payload-type-map", uint_map(Gst, "application/x-rtp-pt-map", {args.pt: args.rtx_pt}))
        rtxsend.set_property("ssrc-map", uint_map(Gst, "application/x-rtp-ssrc-map", {args.ssrc: args.rtx_ssrc}))
        bin_.add(rtxsend)
        bin_.add_pad(Gst.GhostPad.new(f"src_{session}", rtxsend.get_static_pad("src")))
        bin_.add_pad(Gst.GhostPad.new(f"sink_{session}", rtxsend.get_static_pad("sink")))
        rtx["send"] = rtxsend
        return bin_

    rtpbin.connect("request-aux-sender", on_aux_sender)

    assert src.link(caps) and caps.link(enc) and enc.link(pay)
    assert pay.get_static_pad("src").link(rtpbin.request_pad_simple("send_rtp_sink_0")) == Gst.PadLinkReturn.OK
    assert rtpbin.get_static_pad("send_rtp_src_0").link(funnel.request_pad_simple("sink_%u")) == Gst.PadLinkReturn.OK
    assert rtpbin.request_pad_simple("send_rtcp_src_0").link(funnel.request_pad_simple("sink_%u")) == Gst.PadLinkReturn.OK
    assert funnel.link(sink)
    assert rtcp_in.get_static_pad("src").link(rtpbin.request_pad_simple("recv_rtcp_sink_0")) == Gst.PadLinkReturn.OK

    loop = GLib.MainLoop()
    state = {"frames": 0, "keyframes": 0, "forced_keyframes": 0, "finished": False}

    def count_frames(_pad, info):
        if state["frames"] >= args.frames:
            return Gst.PadProbeReturn.DROP
        buf = info.get_buffer()
        state["frames"] += 1
        if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            state["keyframes"] += 1
        if state["frames"] == args.frames:
            GLib.timeout_add(int(args.linger * 1000), finish)
        return Gst.PadProbeReturn.OK

    def count_force_key_unit(_pad, info):
        event = info.get_event()
        if event.get_structure() is not None and event.get_structure().get_name() == "GstForceKeyUnit":
            state["forced_keyframes"] += 1
        return Gst.PadProbeReturn.OK

    enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, count_frames)
    enc.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, count_force_key_unit)

    def finish():
        session = rtpbin.emit("get-internal-session", 0)
        session_stats = structure_to_dict(session.get_property("stats")) if session else {}
        rtxsend = rtx.get("send")
        emit(
            "done",
            frames=state["frames"],
            keyframes=state["keyframes"],
            forcedKeyframes=state["forced_keyframes"],
            rtxRequests=rtxsend.get_property("num-rtx-requests") if rtxsend else 0,
            rtxPackets=rtxsend.get_property("num-rtx-packets") if rtxsend else 0,
            session=session_stats,
        )
        loop.quit()
        return False

    run_bus(Gst, GLib, pipeline, loop, "sender")
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        emit("error", where="sender", message="pipeline cannot go to PLAYING")
        sys.exit(1)
    emit("ready", port=local_port, ssrc=args.ssrc, rtxSsrc=args.rtx_ssrc, pt=args.pt, rtxPt=args.rtx_pt)
    loop.run()
    pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
