//! Audio through two transports in one process: the publisher sends with
//! an [`AudioSender`], the subscriber receives a [`RemoteTrack`], set up
//! and negotiated as in `tests`.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::timeout;

use super::config::JoinTuning;
use super::tests::{Side, WAIT, loopback_config, negotiate, pair_with_configs};
use super::*;

/// RTP timestamp step of one 20 ms Opus frame.
const FRAME: u32 = 960;

/// First RTP timestamp the tests send, near the wrap to cover it.
const FIRST_TIMESTAMP: u32 = u32::MAX - 20 * FRAME;

/// Packets each test checks.
const PACKETS: u32 = 50;

/// A negotiated, connected pair with one audio sender whose remote track
/// has been announced.
struct Audio {
    publisher: Side,
    subscriber: Side,
    sender: AudioSender,
    track: RemoteTrack,
    /// Packets sent so far, which numbers the next one.
    sent: u32,
}

/// Packet `n`'s payload, timestamp, level and voice flag.
fn packet_of(n: u32) -> (Bytes, u32, u8, bool) {
    let payload = Bytes::from(format!("opus frame {n} {}", "x".repeat((n % 17) as usize)));
    let timestamp = FIRST_TIMESTAMP.wrapping_add(n * FRAME);
    (payload, timestamp, (n % 128) as u8, n.is_multiple_of(2))
}

/// Send packet `n`.
async fn send_packet(sender: &AudioSender, n: u32) {
    let (payload, timestamp, level, voice) = packet_of(n);
    sender
        .send_opus(payload, timestamp, false, level, voice)
        .await
        .expect("send_opus");
}

impl Audio {
    /// Send packet `self.sent`.
    async fn send_next(&mut self) {
        send_packet(&self.sender, self.sent).await;
        self.sent += 1;
    }

    /// Send [`PACKETS`] packets, 2 ms apart, and return the number of the
    /// first.
    async fn send_batch(&mut self) -> u32 {
        let first = self.sent;
        for _ in 0..PACKETS {
            self.send_next().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        first
    }

    /// Receive until the packets numbered `first..first + PACKETS` are in,
    /// skipping earlier ones; returns them in arrival order.
    async fn receive_batch(&self, first: u32) -> Vec<RtpPacket> {
        let first_timestamp = packet_of(first).1;
        let mut packets = Vec::new();
        while packets.len() < PACKETS as usize {
            let packet = timeout(WAIT, self.track.recv())
                .await
                .expect("no packet in time")
                .expect("track ended");
            // Timestamps step by FRAME from FIRST_TIMESTAMP, across the wrap.
            let index = packet.timestamp.wrapping_sub(FIRST_TIMESTAMP) / FRAME;
            if index >= first {
                packets.push(packet);
            }
        }
        assert_eq!(packets[0].timestamp, first_timestamp, "first packet lost");
        packets
    }
}

/// A pair with an audio sender, negotiated and connected, and its remote
/// track, which the subscriber reports when it applies the offer, before
/// any packet.
async fn audio_pair(publisher_config: TransportConfig, stereo: bool) -> Audio {
    let (publisher, subscriber) =
        pair_with_configs(JoinTuning::fast(), publisher_config, loopback_config()).await;
    let sender = publisher
        .transport
        .add_audio_sender(AudioSenderOptions {
            track_id: "TR_cid_mic".to_owned(),
            stream_id: "PA_local|TR_cid_mic".to_owned(),
            stereo,
        })
        .await
        .expect("add_audio_sender");
    // Before negotiation packets are dropped quietly.
    sender
        .send_opus(Bytes::from_static(b"early"), 0, true, 127, false)
        .await
        .expect("early send_opus is Ok");
    negotiate(&publisher, &subscriber, false, false).await;
    let mut publisher = publisher;
    let mut subscriber = subscriber;
    publisher.wait_state(PcState::Connected).await;
    subscriber.wait_state(PcState::Connected).await;
    let track = timeout(WAIT, subscriber.tracks.recv())
        .await
        .expect("no remote track announced")
        .expect("subscriber events ended");
    Audio {
        publisher,
        subscriber,
        sender,
        track,
        sent: 0,
    }
}

/// The payload types of the audio m-line of `sdp`, in order.
fn audio_formats(sdp: &str) -> Vec<String> {
    sdp.lines()
        .find(|l| l.starts_with("m=audio"))
        .map(|l| l.split_whitespace().skip(3).map(str::to_owned).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_packets_reach_the_remote_track() {
    let config = TransportConfig {
        disable_red: true,
        ..loopback_config()
    };
    let mut audio = audio_pair(config, false).await;

    let offer = audio.publisher.transport.local_sdp().await.expect("offer");
    assert!(offer.contains("a=sendonly"), "{offer}");
    assert!(
        offer.contains("a=msid:PA_local|TR_cid_mic TR_cid_mic"),
        "{offer}"
    );
    assert!(
        offer.contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level"),
        "{offer}"
    );
    assert!(
        offer.contains("a=fmtp:111 minptime=10;useinbandfec=1"),
        "{offer}"
    );
    assert_eq!(
        audio_formats(&offer).first().map(String::as_str),
        Some("111")
    );
    assert!(!offer.contains("stereo=1"), "{offer}");

    assert_eq!(audio.track.track_id(), "TR_cid_mic");
    assert_eq!(audio.track.stream_id(), "PA_local|TR_cid_mic");
    assert_eq!(audio.track.kind(), MediaKind::Audio);

    let first = audio.send_batch().await;
    let packets = audio.receive_batch(first).await;
    for (i, packet) in packets.iter().enumerate() {
        let n = first + i as u32;
        let (payload, timestamp, level, voice) = packet_of(n);
        assert_eq!(packet.payload, payload, "packet {n}");
        assert_eq!(packet.timestamp, timestamp, "packet {n}");
        assert_eq!(packet.audio_level, Some((level, voice)), "packet {n}");
        assert!(!packet.marker, "packet {n}");
        assert!(packet.redundancy.is_empty(), "packet {n}");
        if i > 0 {
            assert_eq!(
                packet.sequence,
                packets[i - 1].sequence.wrapping_add(1),
                "packet {n}"
            );
        }
    }

    // A renegotiation that keeps the sender keeps the track: no second
    // announcement, and packets go on arriving on it.
    negotiate(&audio.publisher, &audio.subscriber, false, false).await;
    let first = audio.send_batch().await;
    audio.receive_batch(first).await;
    assert!(
        audio.subscriber.tracks.try_recv().is_err(),
        "track announced twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_carries_the_previous_packet() {
    let mut audio = audio_pair(loopback_config(), false).await;

    let offer = audio.publisher.transport.local_sdp().await.expect("offer");
    assert_eq!(audio_formats(&offer)[..2], ["63", "111"], "{offer}");
    let answer = audio
        .publisher
        .transport
        .remote_sdp()
        .await
        .expect("answer");
    assert_eq!(
        audio_formats(&answer).first().map(String::as_str),
        Some("63")
    );

    let first = audio.send_batch().await;
    let packets = audio.receive_batch(first).await;
    for (i, packet) in packets.iter().enumerate() {
        let n = first + i as u32;
        let (payload, timestamp, level, voice) = packet_of(n);
        // The first packet has nothing before it to repeat.
        let redundancy = match n.checked_sub(1) {
            Some(previous) => {
                let (payload, timestamp, _, _) = packet_of(previous);
                vec![(timestamp, payload)]
            }
            None => Vec::new(),
        };
        assert_eq!(packet.payload, payload, "packet {n}");
        assert_eq!(packet.timestamp, timestamp, "packet {n}");
        assert_eq!(packet.audio_level, Some((level, voice)), "packet {n}");
        assert_eq!(packet.redundancy, redundancy, "packet {n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stereo_sender_offers_stereo_opus() {
    let config = TransportConfig {
        disable_red: true,
        ..loopback_config()
    };
    let mut audio = audio_pair(config, true).await;
    // The subscriber applied the offer create_offer returned.
    let offer = audio
        .subscriber
        .transport
        .remote_sdp()
        .await
        .expect("offer");
    assert!(
        offer.contains("a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"),
        "{offer}"
    );
    // The munged offer was accepted: media flows.
    let first = audio.send_batch().await;
    audio.receive_batch(first).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_sender_ends_the_remote_track() {
    let audio = audio_pair(loopback_config(), false).await;
    audio
        .publisher
        .transport
        .remove_audio_sender(&audio.sender)
        .await
        .expect("remove");
    assert!(matches!(
        audio
            .sender
            .send_opus(Bytes::from_static(b"late"), 0, false, 0, false)
            .await,
        Err(TransportError::State(_))
    ));
    negotiate(&audio.publisher, &audio.subscriber, false, false).await;
    let offer = audio.publisher.transport.local_sdp().await.expect("offer");
    assert!(offer.contains("a=inactive"), "{offer}");
    let ended = timeout(WAIT, async { while audio.track.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "remote track did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_ends_the_remote_track() {
    let audio = audio_pair(loopback_config(), false).await;
    audio.subscriber.transport.close().await;
    let ended = timeout(WAIT, async { while audio.track.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "remote track did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_sent_and_received_packets() {
    let mut audio = audio_pair(loopback_config(), false).await;
    let first = audio.send_batch().await;
    audio.receive_batch(first).await;

    let sent = audio.sender.stats().await;
    let outbound = sent
        .iter()
        .find_map(|entry| match entry {
            StatsEntry::OutboundRtp {
                ssrc,
                kind,
                packets_sent,
                ..
            } => Some((*ssrc, kind.clone(), *packets_sent)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no outbound-rtp in {sent:#?}"));
    assert_eq!(outbound.0, audio.sender.ssrc());
    assert_eq!(outbound.1, "audio");
    assert!(outbound.2 >= u64::from(PACKETS), "{sent:#?}");
    assert!(
        sent.iter().any(|e| matches!(
            e,
            StatsEntry::Codec { mime_type, .. } if mime_type.eq_ignore_ascii_case("audio/opus")
        )),
        "{sent:#?}"
    );
    assert!(
        sent.iter().any(|e| matches!(
            e,
            StatsEntry::MediaSource { track_identifier, kind, .. }
                if track_identifier == "TR_cid_mic" && kind == "audio"
        )),
        "{sent:#?}"
    );

    let received = audio.track.stats().await;
    let inbound = received
        .iter()
        .find_map(|entry| match entry {
            StatsEntry::InboundRtp {
                packets_received,
                track_identifier,
                ..
            } => Some((*packets_received, track_identifier.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no inbound-rtp in {received:#?}"));
    assert!(inbound.0 >= u64::from(PACKETS), "{received:#?}");
    assert_eq!(inbound.1, "TR_cid_mic");
}

#[test]
fn handles_are_send_sync_and_cheap_to_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<AudioSender>();
    check::<RemoteTrack>();
    check::<RtpPacket>();
}
