// SDP and RTP parameters for the WebRTC harness (see webrtc-peer.mjs): a
// parser for what werift writes, a writer for the mediasoup side of a session
// built from the objects the mediasoup Node library hands out, and the
// conversions between werift's SDP and mediasoup RTP parameters and
// capabilities. No I/O.

export const LOOPBACK = '127.0.0.1';

export const URI = {
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  transportCc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
};

// werift's own payload types: what it offers when publishing. Consumers use
// the router's payload types instead, which werift adopts from the offer.
export const WERIFT_VP8_PT = 96;
export const WERIFT_RTX_PT = 97;
export const WERIFT_OPUS_PT = 111;

// ---------------------------------------------------------------------------
// SDP: a parser for what werift writes, and a writer for the mediasoup side
// (RFC 8866 lines; RFC 8839 ICE, RFC 8842 DTLS, RFC 8843 BUNDLE, RFC 4588 RTX)
// ---------------------------------------------------------------------------

function parseFmtp(text) {
  const parameters = {};
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    parameters[key] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return parameters;
}

// RFC 8839 §5.1: foundation component transport priority address port typ type [tcptype t]
export function parseCandidate(text) {
  const f = text.replace(/^candidate:/, '').split(/\s+/);
  const candidate = {
    foundation: f[0], component: Number(f[1]), protocol: f[2].toLowerCase(), priority: Number(f[3]),
    address: f[4], port: Number(f[5]), type: f[7],
  };
  const tcpType = f.indexOf('tcptype');
  if (tcpType > 0) candidate.tcpType = f[tcpType + 1];
  return candidate;
}

// Parses an SDP into { session, media[] }. Media sections inherit the
// session-level ICE credentials, fingerprints and setup when they have none.
export function parseSdp(sdp) {
  const blank = () => ({
    fingerprints: [], candidates: [], codecs: [], extmaps: [], ssrcs: [], ssrcGroups: [],
  });
  const session = { ...blank(), iceLite: false, groups: [] };
  const media = [];
  let cur = session;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.length < 2 || line[1] !== '=') continue;
    const value = line.slice(2);
    if (line[0] === 'm') {
      const [kind, port, proto, ...fmts] = value.split(' ');
      cur = { ...blank(), kind, port: Number(port), proto, payloadTypes: fmts.map(Number) };
      media.push(cur);
      continue;
    }
    if (line[0] === 'c') {
      cur.address = value.split(' ')[2];
      continue;
    }
    if (line[0] !== 'a') continue;
    const colon = value.indexOf(':');
    const attr = colon < 0 ? value : value.slice(0, colon);
    const arg = colon < 0 ? '' : value.slice(colon + 1);
    const pt = Number(arg.split(' ')[0]);
    const codec = () => {
      let c = cur.codecs.find((x) => x.payloadType === pt);
      if (!c) {
        c = { payloadType: pt, parameters: {}, rtcpFeedback: [] };
        cur.codecs.push(c);
      }
      return c;
    };
    switch (attr) {
      case 'ice-lite': cur.iceLite = true; break;
      case 'ice-ufrag': cur.iceUfrag = arg; break;
      case 'ice-pwd': cur.icePwd = arg; break;
      case 'fingerprint': {
        const [algorithm, fp] = arg.split(' ');
        cur.fingerprints.push({ algorithm: algorithm.toLowerCase(), value: fp.toUpperCase() });
        break;
      }
      case 'setup': cur.setup = arg; break;
      case 'group': cur.groups?.push(arg); break;
      case 'mid': cur.mid = arg; break;
      case 'sendonly': case 'recvonly': case 'sendrecv': case 'inactive': cur.direction = attr; break;
      case 'rtcp-mux': cur.rtcpMux = true; break;
      case 'rtcp-rsize': cur.rtcpRsize = true; break;
      case 'msid': cur.msid = arg; break;
      case 'candidate': cur.candidates.push(parseCandidate(arg)); break;
      case 'end-of-candidates': cur.endOfCandidates = true; break;
      case 'extmap': {
        const [id, uri] = arg.split(' ');
        cur.extmaps.push({ id: Number(id.split('/')[0]), uri });
        break;
      }
      case 'rtpmap': {
        const [name, clockRate, channels] = arg.split(' ')[1].split('/');
        Object.assign(codec(), { name, clockRate: Number(clockRate), ...(channels ? { channels: Number(channels) } : {}) });
        break;
      }
      case 'fmtp': Object.assign(codec().parameters, parseFmtp(arg.slice(arg.indexOf(' ') + 1))); break;
      case 'rtcp-fb': {
        const [, type, parameter] = arg.split(' ');
        codec().rtcpFeedback.push({ type, parameter: parameter ?? '' });
        break;
      }
      case 'ssrc': {
        const [ssrcText, ...rest] = arg.split(' ');
        const ssrc = Number(ssrcText);
        let entry = cur.ssrcs.find((s) => s.ssrc === ssrc);
        if (!entry) {
          entry = { ssrc };
          cur.ssrcs.push(entry);
        }
        const kv = rest.join(' ');
        const c = kv.indexOf(':');
        if (c > 0) entry[kv.slice(0, c)] = kv.slice(c + 1);
        break;
      }
      case 'ssrc-group': {
        const [semantics, ...ssrcs] = arg.split(' ');
        cur.ssrcGroups.push({ semantics, ssrcs: ssrcs.map(Number) });
        break;
      }
      default: break;
    }
  }
  for (const m of media) {
    m.iceUfrag ??= session.iceUfrag;
    m.icePwd ??= session.icePwd;
    m.iceLite ||= session.iceLite;
    m.setup ??= session.setup;
    if (m.fingerprints.length === 0) m.fingerprints = session.fingerprints;
    m.codecs.sort((a, b) => m.payloadTypes.indexOf(a.payloadType) - m.payloadTypes.indexOf(b.payloadType));
  }
  return { session, media };
}

// RFC 4145 §4: the a=setup value an endpoint wrote says which DTLS role it takes.
export function setupToRole(setup) {
  switch (setup) {
    case 'active': return 'client';
    case 'passive': return 'server';
    default: throw new Error(`a=setup:${setup} does not fix a DTLS role`);
  }
}

// The dtlsParameters to give transport.connect(): werift's role as its local
// SDP states it, and its certificate fingerprints.
export function weriftDtlsParameters(localSdp) {
  const m = parseSdp(localSdp).media[0];
  if (!m.fingerprints.length) throw new Error('werift SDP carries no a=fingerprint');
  return { role: setupToRole(m.setup), fingerprints: m.fingerprints.map((f) => ({ ...f })) };
}

function candidateLine(c) {
  const address = c.address ?? c.ip;
  let line = `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${address} ${c.port} typ ${c.type ?? 'host'}`;
  if (c.protocol === 'tcp') line += ` tcptype ${c.tcpType ?? 'passive'}`;
  return line;
}

function rtpmapLine(codec) {
  const name = codec.mimeType.split('/')[1];
  const channels = codec.channels > 1 ? `/${codec.channels}` : '';
  return `a=rtpmap:${codec.payloadType} ${name}/${codec.clockRate}${channels}`;
}

// The mediasoup side of a session, written from the objects the Node library
// hands out:
//   transport: { iceParameters, iceCandidates, dtlsParameters }
//   setup:     'actpass' (offer only), 'active' (mediasoup is the DTLS
//              client) or 'passive' (mediasoup is the DTLS server)
//   candidates: maps each candidate to the one to advertise (e.g. a relay's
//              address), or to null to leave it out
//   media:     [{ kind, mid, direction, rtpParameters, msid? }] in m-line order;
//              the ssrc lines are written for a sending direction only
export function mediasoupSideSdp({ transport, setup, media, candidates = (c) => c }) {
  const { iceParameters, dtlsParameters } = transport;
  const cands = transport.iceCandidates.map((c) => candidates({ ...c, address: c.address ?? c.ip })).filter(Boolean);
  if (cands.length === 0) throw new Error('no ICE candidate left to advertise');
  const first = cands[0];
  const lines = [
    'v=0',
    `o=sluice-harness ${Date.now()} 1 IN IP4 ${LOOPBACK}`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${media.map((m) => m.mid).join(' ')}`,
    'a=msid-semantic: WMS *',
  ];
  for (const m of media) {
    const p = m.rtpParameters;
    lines.push(`m=${m.kind} ${first.port} UDP/TLS/RTP/SAVPF ${p.codecs.map((c) => c.payloadType).join(' ')}`);
    lines.push(`c=IN IP4 ${first.address}`);
    lines.push('a=rtcp:9 IN IP4 0.0.0.0');
    lines.push(`a=ice-ufrag:${iceParameters.usernameFragment}`);
    lines.push(`a=ice-pwd:${iceParameters.password}`);
    for (const f of dtlsParameters.fingerprints) lines.push(`a=fingerprint:${f.algorithm} ${f.value}`);
    lines.push(`a=setup:${setup}`);
    lines.push(`a=mid:${m.mid}`);
    lines.push(`a=${m.direction}`);
    lines.push('a=rtcp-mux');
    if (p.rtcp?.reducedSize) lines.push('a=rtcp-rsize');
    for (const c of p.codecs) {
      lines.push(rtpmapLine(c));
      const params = Object.entries(c.parameters ?? {});
      if (params.length) lines.push(`a=fmtp:${c.payloadType} ${params.map(([k, v]) => `${k}=${v}`).join(';')}`);
      for (const fb of c.rtcpFeedback ?? []) {
        lines.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ''}`);
      }
    }
    for (const e of p.headerExtensions ?? []) lines.push(`a=extmap:${e.id} ${e.uri}`);
    if (m.direction === 'sendonly' || m.direction === 'sendrecv') {
      const msid = m.msid ?? `sluice-stream sluice-${m.kind}-${m.mid}`;
      lines.push(`a=msid:${msid}`);
      const cname = p.rtcp?.cname ?? 'sluice';
      const enc = p.encodings[0];
      // werift reads the first a=ssrc as the media SSRC and the second as RTX.
      if (enc.rtx) lines.push(`a=ssrc-group:FID ${enc.ssrc} ${enc.rtx.ssrc}`);
      lines.push(`a=ssrc:${enc.ssrc} cname:${cname}`, `a=ssrc:${enc.ssrc} msid:${msid}`);
      if (enc.rtx) lines.push(`a=ssrc:${enc.rtx.ssrc} cname:${cname}`, `a=ssrc:${enc.rtx.ssrc} msid:${msid}`);
    }
    for (const c of cands) lines.push(candidateLine(c));
    lines.push('a=end-of-candidates');
  }
  return `${lines.join('\r\n')}\r\n`;
}

// ---------------------------------------------------------------------------
// RTP parameters
// ---------------------------------------------------------------------------

const isRtx = (mimeTypeOrName) => /(^|\/)rtx$/i.test(mimeTypeOrName);
const sameFb = (a, b) => a.type === b.type && (a.parameter ?? '') === (b.parameter ?? '');

// Producer RTP parameters from a werift offer's m-section, restricted to what
// the router supports (codecs by mime type/clock rate/channels, RTCP feedback
// and header extensions by the router's capabilities). The payload types,
// SSRCs, extension ids, mid and CNAME are werift's.
export function producerRtpParameters(offerMedia, routerCaps) {
  const { kind } = offerMedia;
  const codecs = [];
  for (const c of offerMedia.codecs) {
    if (isRtx(c.name)) continue;
    const cap = routerCaps.codecs.find((k) => k.kind === kind && !isRtx(k.mimeType) &&
      k.mimeType.toLowerCase() === `${kind}/${c.name}`.toLowerCase() && k.clockRate === c.clockRate &&
      (kind !== 'audio' || (k.channels ?? 1) === (c.channels ?? 1)));
    if (!cap) continue;
    codecs.push({
      mimeType: cap.mimeType, payloadType: c.payloadType, clockRate: c.clockRate,
      ...(kind === 'audio' ? { channels: c.channels ?? 1 } : {}),
      parameters: { ...c.parameters },
      rtcpFeedback: c.rtcpFeedback.filter((fb) => cap.rtcpFeedback.some((k) => sameFb(k, fb))),
    });
  }
  if (codecs.length === 0) throw new Error(`werift offered no ${kind} codec the router has`);
  for (const c of offerMedia.codecs) {
    if (!isRtx(c.name) || !codecs.some((m) => m.payloadType === c.parameters.apt)) continue;
    codecs.push({
      mimeType: `${kind}/rtx`, payloadType: c.payloadType, clockRate: c.clockRate,
      parameters: { apt: c.parameters.apt }, rtcpFeedback: [],
    });
  }
  const headerExtensions = offerMedia.extmaps
    .filter((e) => routerCaps.headerExtensions.some((h) => h.kind === kind && h.uri === e.uri))
    .map((e) => ({ uri: e.uri, id: e.id }));
  const fid = offerMedia.ssrcGroups.find((g) => g.semantics === 'FID');
  const ssrc = fid ? fid.ssrcs[0] : offerMedia.ssrcs[0]?.ssrc;
  if (ssrc === undefined) throw new Error('werift offer has no a=ssrc');
  const encoding = { ssrc };
  if (fid && codecs.some((c) => isRtx(c.mimeType))) encoding.rtx = { ssrc: fid.ssrcs[1] };
  const cname = offerMedia.ssrcs.find((s) => s.ssrc === ssrc)?.cname;
  return {
    mid: offerMedia.mid,
    codecs,
    headerExtensions,
    encodings: [encoding],
    rtcp: { cname, reducedSize: !!offerMedia.rtcpRsize },
  };
}

const WERIFT_FEEDBACK = {
  'video/vp8': [{ type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
  'audio/opus': [],
};

// RTP capabilities describing what werift receives: VP8 with RTX and NACK,
// PLI and FIR feedback, Opus; the mid and abs-send-time header extensions and,
// with transportCc, transport-wide CC. Payload types and extension ids are the
// router's (mediasoup matches capability extensions by id and URI).
export function weriftRtpCapabilities(routerCaps, { transportCc = false } = {}) {
  const media = routerCaps.codecs.filter((c) => WERIFT_FEEDBACK[c.mimeType.toLowerCase()]);
  const codecs = media.map((c) => {
    const rtcpFeedback = WERIFT_FEEDBACK[c.mimeType.toLowerCase()].map((fb) => ({ ...fb }));
    if (transportCc && c.kind === 'video') rtcpFeedback.push({ type: 'transport-cc', parameter: '' });
    return { ...structuredClone(c), rtcpFeedback };
  });
  for (const c of routerCaps.codecs) {
    if (c.kind === 'video' && isRtx(c.mimeType) && media.some((m) => m.preferredPayloadType === c.parameters.apt)) {
      codecs.push(structuredClone(c));
    }
  }
  const uris = [URI.mid, URI.absSendTime, ...(transportCc ? [URI.transportCc] : [])];
  const headerExtensions = routerCaps.headerExtensions
    .filter((h) => uris.includes(h.uri) && (h.kind === 'video' || h.uri !== URI.transportCc))
    .map((h) => structuredClone(h));
  return { codecs, headerExtensions };
}
