//! The tracks a remote offer says it sends, read from its text: each media
//! section's mid, kind, direction and `a=msid`.
//!
//! The engine announces a remote track only at its first packet, while
//! libwebrtc (and so the official clients) report it when the offer is
//! applied; a track whose publisher is muted may send nothing for a long
//! time. Reading the offer lets [`PeerTransport`](super::PeerTransport)
//! report tracks as libwebrtc does, and tell when a renegotiation took one
//! away.

use super::remote_track::MediaKind;

/// One media section of a remote offer that sends a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OfferedTrack {
    /// The section's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The first half of `a=msid`.
    pub stream_id: String,
    /// The second half of `a=msid`: the track id.
    pub track_id: String,
}

/// The sections of `sdp` (a remote offer) that send a track: audio or
/// video, not rejected (port 0), `sendrecv` or `sendonly`, with a mid and
/// an `a=msid` (or, failing that, an `a=ssrc:… msid:` line).
pub(crate) fn offered_tracks(sdp: &str) -> Vec<OfferedTrack> {
    let mut tracks = Vec::new();
    let mut section: Option<Section> = None;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            tracks.extend(section.take().and_then(Section::into_track));
            section = Some(Section::new(media));
        } else if let Some(current) = section.as_mut() {
            current.read(line);
        }
    }
    tracks.extend(section.and_then(Section::into_track));
    tracks
}

/// What is known of the media section being read.
struct Section {
    kind: Option<MediaKind>,
    rejected: bool,
    /// `sendrecv` unless the section says otherwise (RFC 4566).
    sends: bool,
    mid: Option<String>,
    msid: Option<(String, String)>,
    ssrc_msid: Option<(String, String)>,
}

impl Section {
    fn new(media: &str) -> Self {
        let mut fields = media.split_whitespace();
        let kind = match fields.next() {
            Some("audio") => Some(MediaKind::Audio),
            Some("video") => Some(MediaKind::Video),
            _ => None,
        };
        Self {
            kind,
            rejected: fields.next() == Some("0"),
            sends: true,
            mid: None,
            msid: None,
            ssrc_msid: None,
        }
    }

    fn read(&mut self, line: &str) {
        match line {
            "a=sendrecv" | "a=sendonly" => self.sends = true,
            "a=recvonly" | "a=inactive" => self.sends = false,
            _ => {}
        }
        if let Some(mid) = line.strip_prefix("a=mid:") {
            self.mid = Some(mid.trim().to_owned());
        } else if let Some(msid) = line.strip_prefix("a=msid:") {
            self.msid = self.msid.take().or_else(|| split_msid(msid));
        } else if let Some(ssrc) = line.strip_prefix("a=ssrc:")
            && let Some((_, msid)) = ssrc.split_once(" msid:")
        {
            self.ssrc_msid = self.ssrc_msid.take().or_else(|| split_msid(msid));
        }
    }

    fn into_track(self) -> Option<OfferedTrack> {
        if self.rejected || !self.sends {
            return None;
        }
        let (stream_id, track_id) = self.msid.or(self.ssrc_msid)?;
        Some(OfferedTrack {
            mid: self.mid?,
            kind: self.kind?,
            stream_id,
            track_id,
        })
    }
}

/// `<stream id> <track id>`; a `-` stream id (no stream) reads as empty.
fn split_msid(value: &str) -> Option<(String, String)> {
    let mut parts = value.split_whitespace();
    let stream = parts.next()?;
    let track = parts.next()?;
    let stream = if stream == "-" { "" } else { stream };
    Some((stream.to_owned(), track.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of a LiveKit server offer on the subscriber PC.
    const OFFER: &str = "v=0\r\n\
o=- 1 2 IN IP4 0.0.0.0\r\n\
s=-\r\n\
a=group:BUNDLE 0 1 2 3\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=msid:PA_a|TR_a TR_a\r\n\
a=ssrc:1 msid:PA_a|TR_a TR_a\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
a=mid:1\r\n\
a=ssrc:2 cname:x\r\n\
a=ssrc:2 msid:PA_b|TR_v TR_v\r\n\
a=sendonly\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
a=mid:2\r\n\
a=inactive\r\n\
a=msid:PA_c|TR_c TR_c\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
a=mid:3\r\n";

    #[test]
    fn reads_the_sending_sections() {
        assert_eq!(
            offered_tracks(OFFER),
            [
                OfferedTrack {
                    mid: "0".to_owned(),
                    kind: MediaKind::Audio,
                    stream_id: "PA_a|TR_a".to_owned(),
                    track_id: "TR_a".to_owned(),
                },
                OfferedTrack {
                    mid: "1".to_owned(),
                    kind: MediaKind::Video,
                    stream_id: "PA_b|TR_v".to_owned(),
                    track_id: "TR_v".to_owned(),
                },
            ]
        );
    }

    #[test]
    fn skips_rejected_and_msid_less_sections() {
        let sdp = "v=0\nm=audio 0 RTP/AVP 0\na=mid:0\na=msid:s t\nm=audio 9 RTP/AVP 0\na=mid:1\n";
        assert!(offered_tracks(sdp).is_empty());
        assert!(offered_tracks("").is_empty());
        assert!(offered_tracks("m=\na=msid:\na=ssrc:1 msid:").is_empty());
    }
}
