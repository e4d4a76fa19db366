//! Stereo Opus in our offers: `stereo=1;sprop-stereo=1` added to the Opus
//! `a=fmtp` line of the media sections that carry a stereo sender.
//!
//! The engine's Opus format line is one per media engine (`minptime=10;
//! useinbandfec=1`), not one per transceiver, so the stereo parameters are
//! written into the offer text for the sections that need them, as the
//! official clients do. The server reads them to know the track is stereo.

/// The parameters a stereo sender's Opus format line must carry.
const STEREO_PARAMS: [&str; 2] = ["stereo=1", "sprop-stereo=1"];

/// `sdp` with the stereo parameters on the Opus format line of every audio
/// section whose mid is in `mids`. Sections without an Opus format line are
/// left alone, as are parameters already there.
pub(crate) fn add_stereo(sdp: &str, mids: &[String]) -> String {
    if mids.is_empty() {
        return sdp.to_owned();
    }
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = sdp.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    // Media sections: [start, end) line ranges, the session part first.
    let mut starts: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with("m="))
        .map(|(i, _)| i)
        .collect();
    starts.insert(0, 0);
    starts.push(lines.len());
    for window in starts.windows(2) {
        let section = &lines[window[0]..window[1]];
        let wanted = section.first().is_some_and(|l| l.starts_with("m=audio"))
            && section
                .iter()
                .filter_map(|l| l.strip_prefix("a=mid:"))
                .any(|mid| mids.iter().any(|m| m == mid.trim()));
        let opus_pt = wanted.then(|| opus_payload_type(section)).flatten();
        for line in section {
            match &opus_pt {
                Some(pt) if is_fmtp_of(line, pt) => out.push(with_stereo(line)),
                _ => out.push((*line).to_owned()),
            }
        }
    }
    let mut text = out.join(eol);
    if sdp.ends_with('\n') {
        text.push_str(eol);
    }
    text
}

/// The payload type of `a=rtpmap:<pt> opus/48000/2` in a section.
fn opus_payload_type(section: &[&str]) -> Option<String> {
    section.iter().find_map(|line| {
        let rest = line.strip_prefix("a=rtpmap:")?;
        let (pt, encoding) = rest.split_once(' ')?;
        encoding
            .to_ascii_lowercase()
            .starts_with("opus/")
            .then(|| pt.trim().to_owned())
    })
}

fn is_fmtp_of(line: &str, pt: &str) -> bool {
    line.strip_prefix("a=fmtp:")
        .and_then(|rest| rest.split_once(' '))
        .is_some_and(|(p, _)| p == pt)
}

/// A format line with the stereo parameters it lacks appended.
fn with_stereo(line: &str) -> String {
    let mut line = line.to_owned();
    let present: Vec<String> = line
        .split_once(' ')
        .map(|(_, params)| params.split(';').map(|p| p.trim().to_owned()).collect())
        .unwrap_or_default();
    for param in STEREO_PARAMS {
        if !present.iter().any(|p| p == param) {
            line.push(';');
            line.push_str(param);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\n\
o=- 1 1 IN IP4 0.0.0.0\r\n\
s=-\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\n\
a=mid:0\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=rtpmap:63 red/48000/2\r\n\
a=fmtp:63 111/111\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
a=mid:1\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n";

    #[test]
    fn adds_stereo_to_the_named_section_only() {
        let munged = add_stereo(OFFER, &["1".to_owned()]);
        let fmtp: Vec<&str> = munged
            .lines()
            .filter(|l| l.starts_with("a=fmtp:111"))
            .collect();
        assert_eq!(
            fmtp,
            [
                "a=fmtp:111 minptime=10;useinbandfec=1",
                "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1",
            ]
        );
        assert!(munged.contains("a=fmtp:63 111/111\r\n"));
        assert!(munged.ends_with("\r\n"));
        assert_eq!(munged.lines().count(), OFFER.lines().count());
    }

    #[test]
    fn leaves_present_parameters_and_unknown_mids() {
        let once = add_stereo(OFFER, &["0".to_owned()]);
        assert_eq!(add_stereo(&once, &["0".to_owned()]), once);
        assert_eq!(add_stereo(OFFER, &["7".to_owned()]), OFFER);
        assert_eq!(add_stereo(OFFER, &[]), OFFER);
    }
}
