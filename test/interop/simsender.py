"""GStreamer VP8 simulcast sender: one picture, three encodings told apart by SSRC.

  videotestsrc (live) -> tee -+-> queue -> videoscale -> WxH -> vp8enc -> rtpvp8pay (ssrc 0)
                              +-> ...                                  -> rtpvp8pay (ssrc 1)
                              +-> ...                                  -> rtpvp8pay (ssrc 2)
  each payloader -> its own rtpbin session (AVPF) -> funnel (RTP + RTCP) -> udpsink -> --dest
  udpsrc (the same socket) -> tee -> recv_rtcp_sink of every session

All RTP and RTCP leave from one socket, so a comedia PlainTransport learns one tuple; the
RTCP that comes back (RR, PLI, FIR) goes to every session and each one acts on what names
its own SSRC: a PLI/FIR for encoding i makes rtpsession send GstForceKeyUnit upstream to
encoder i, which then encodes a key frame. --keyframe-interval is large by default, so
after the first frame every key frame is one somebody asked for.

The pipeline never goes EOS: after --seconds it stops pushing frames, lingers, prints
{"event": "done", ...} and exits 0 (or earlier on "stop" on stdin). "mute I" on stdin stops
sending encoding I (its encoder keeps running, its frames are dropped before the payloader,
its session keeps sending RTCP: what a browser does when it pauses an encoding), "unmute I"
sends it again. Events on stdout (JSON lines): ready, keyframe {encoding, frame},
forcekeyunit {encoding}, done, error.
"""

import argparse
import sys

from gstpeer import emit, load_gst, make, run_bus, structure_to_dict, udp_socket

# Encoding i is the picture scaled to SIZES[i] (spatial layer i of the producer).
SIZES = ((320, 180), (640, 360), (1280, 720))
# Bits/s per encoding, roughly what a browser gives these sizes.
BITRATES = (150_000, 500_000, 1_500_000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", required=True, help="host:port that receives RTP+RTCP")
    parser.add_argument("--pt", type=int, default=96)
    parser.add_argument("--ssrcs", default="0x11110000,0x11110001,0x11110002",
                        help="comma-separated SSRCs, lowest resolution first")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--keyframe-interval", type=int, default=100_000, help="frames")
    parser.add_argument("--linger", type=float, default=0.5, help="s after the last frame")
    parser.add_argument("--pid7", default="", help="comma-separated encodings whose PictureID "
                        "is 7-bit (rtpvp8pay's default, as older encoders send it); others 15-bit")
    args = parser.parse_args()
    dest_host, dest_port = args.dest.rsplit(":", 1)
    ssrcs = [int(s, 0) for s in args.ssrcs.split(",")]
    pid7 = {int(i) for i in args.pid7.split(",") if i}
    if len(ssrcs) != len(SIZES):
        parser.error(f"--ssrcs needs {len(SIZES)} values")

    Gst, GLib, Gio = load_gst()
    pipeline = Gst.Pipeline.new("simsender")
    gsock, local_port = udp_socket(Gio)
    top_w, top_h = SIZES[-1]
    src = make(Gst, "videotestsrc", is_live=True, pattern="smpte", horizontal_speed=4)
    src_caps = make(Gst, "capsfilter", caps=Gst.Caps.from_string(
        f"video/x-raw,format=I420,width={top_w},height={top_h},framerate={args.fps}/1"))
    tee = make(Gst, "tee")
    rtpbin = make(Gst, "rtpbin")
    Gst.util_set_object_arg(rtpbin, "rtp-profile", "avpf")
    funnel = make(Gst, "funnel")
    sink = make(Gst, "udpsink", socket=gsock, close_socket=False, host=dest_host,
                port=int(dest_port), sync=False, async_=False)
    rtcp_in = make(Gst, "udpsrc", socket=gsock, close_socket=False,
                   caps=Gst.Caps.from_string("application/x-rtcp"))
    rtcp_tee = make(Gst, "tee")
    for element in (src, src_caps, tee, rtpbin, funnel, sink, rtcp_in, rtcp_tee):
        pipeline.add(element)
    assert src.link(src_caps) and src_caps.link(tee) and funnel.link(sink)
    assert rtcp_in.link(rtcp_tee)

    state = {"stopped": False, "done": False, "muted": set()}
    counts = [{"ssrc": ssrc, "frames": 0, "keyframes": 0, "forcedKeyframes": 0} for ssrc in ssrcs]

    def on_frame(_pad, info, i):
        if state["stopped"] or i in state["muted"]:
            return Gst.PadProbeReturn.DROP
        counts[i]["frames"] += 1
        if not info.get_buffer().has_flags(Gst.BufferFlags.DELTA_UNIT):
            counts[i]["keyframes"] += 1
            emit("keyframe", encoding=i, frame=counts[i]["frames"])
        return Gst.PadProbeReturn.OK

    def on_upstream(_pad, info, i):
        structure = info.get_event().get_structure()
        if structure is not None and structure.get_name() == "GstForceKeyUnit":
            counts[i]["forcedKeyframes"] += 1
            emit("forcekeyunit", encoding=i)
        return Gst.PadProbeReturn.OK

    for i, ((width, height), ssrc) in enumerate(zip(SIZES, ssrcs)):
        queue = make(Gst, "queue", max_size_buffers=2, leaky=2)  # never stall the other encoders
        scale = make(Gst, "videoscale")
        caps = make(Gst, "capsfilter", caps=Gst.Caps.from_string(
            f"video/x-raw,width={width},height={height}"))
        enc = make(Gst, "vp8enc", deadline=1, cpu_used=16, threads=1, lag_in_frames=0,
                   keyframe_max_dist=args.keyframe_interval, target_bitrate=BITRATES[i])
        Gst.util_set_object_arg(enc, "error-resilient", "default+partitions")
        Gst.util_set_object_arg(enc, "end-usage", "cbr")
        pay = make(Gst, "rtpvp8pay", pt=args.pt, ssrc=ssrc, mtu=1200)
        Gst.util_set_object_arg(pay, "picture-id-mode", "7-bit" if i in pid7 else "15-bit")
        for element in (queue, scale, caps, enc, pay):
            pipeline.add(element)
        assert tee.link(queue) and queue.link(scale) and scale.link(caps)
        assert caps.link(enc) and enc.link(pay)
        link = pay.get_static_pad("src").link(rtpbin.request_pad_simple(f"send_rtp_sink_{i}"))
        assert link == Gst.PadLinkReturn.OK
        assert rtpbin.get_static_pad(f"send_rtp_src_{i}").link(
            funnel.request_pad_simple("sink_%u")) == Gst.PadLinkReturn.OK
        assert rtpbin.request_pad_simple(f"send_rtcp_src_{i}").link(
            funnel.request_pad_simple("sink_%u")) == Gst.PadLinkReturn.OK
        assert rtcp_tee.request_pad_simple("src_%u").link(
            rtpbin.request_pad_simple(f"recv_rtcp_sink_{i}")) == Gst.PadLinkReturn.OK
        enc.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_frame, i)
        enc.get_static_pad("src").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, on_upstream, i)

    loop = GLib.MainLoop()

    def finish(reason):
        if state["done"]:
            return False
        state["done"] = True
        sessions = []
        for i in range(len(SIZES)):
            session = rtpbin.emit("get-internal-session", i)
            sessions.append(structure_to_dict(session.get_property("stats")) if session else {})
        emit("done", reason=reason, encodings=counts, sessions=sessions)
        loop.quit()
        return False

    def stop_frames():
        state["stopped"] = True
        GLib.timeout_add(int(args.linger * 1000), finish, "time is up")
        return False

    def on_stdin(channel, condition):
        line = channel.readline() if condition & GLib.IOCondition.IN else ""
        words = line.split()
        if len(words) == 2 and words[0] in ("mute", "unmute") and words[1].isdigit():
            (state["muted"].add if words[0] == "mute" else state["muted"].discard)(int(words[1]))
            emit(words[0] + "d", encoding=int(words[1]))
            return True
        if not line or line.strip() == "stop":
            finish("stopped by controller" if line else "stdin closed")
            return False
        return True

    stdin = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(stdin, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    GLib.timeout_add(int(args.seconds * 1000), stop_frames)

    run_bus(Gst, GLib, pipeline, loop, "simsender")
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        emit("error", where="simsender", message="pipeline cannot go to PLAYING")
        sys.exit(1)
    emit("ready", port=local_port, ssrcs=ssrcs, pt=args.pt)
    loop.run()
    pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
