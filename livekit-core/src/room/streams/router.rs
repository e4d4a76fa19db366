//! The stage of a room's event stream that handles stream packets.
//!
//! The session turns each received stream packet into a raw
//! `Stream*Received` event. This stage, one task between the session and
//! whoever reads the room's events, feeds those packets to the room's
//! [`Incoming`] reassembly and announces each new stream with a
//! `TextStreamOpened` or `ByteStreamOpened` event right after its header
//! event. Raw events of internal topics are not passed on. Because it sees
//! every event in order, a sender's `ParticipantDisconnected` fails that
//! sender's open streams, and the end of the room fails all of them.

use tokio::sync::mpsc;

use super::incoming::{Incoming, Opened};
use super::is_internal_topic;
use super::reader::ReaderSlot;
use crate::room::events::RoomEvent;

/// Why streams still open when the room closes fail.
const ROOM_CLOSED: &str = "the room closed while the stream was being received";

/// Put the stage after `raw`; returns the stream of events to consume.
pub(crate) fn spawn(
    mut raw: mpsc::UnboundedReceiver<RoomEvent>,
    max_payload: u64,
) -> mpsc::UnboundedReceiver<RoomEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut incoming = Incoming::new(max_payload);
        let mut consumer_gone = false;
        while let Some(event) = raw.recv().await {
            route(&mut incoming, event, &mut |event| {
                consumer_gone |= tx.send(event).is_err();
            });
            if consumer_gone {
                break;
            }
        }
        incoming.close_all(ROOM_CLOSED);
    });
    rx
}

/// Handle one event, passing on what the consumer should see.
pub(crate) fn route(incoming: &mut Incoming, event: RoomEvent, emit: &mut impl FnMut(RoomEvent)) {
    match event {
        RoomEvent::StreamHeaderReceived { identity, header } => {
            if !is_internal_topic(&header.topic) {
                emit(RoomEvent::StreamHeaderReceived {
                    identity: identity.clone(),
                    header: header.clone(),
                });
            }
            match incoming.header(&identity, header) {
                Some(Opened::Text(reader)) => emit(RoomEvent::TextStreamOpened {
                    identity,
                    reader: ReaderSlot::new(reader),
                }),
                Some(Opened::Byte(reader)) => emit(RoomEvent::ByteStreamOpened {
                    identity,
                    reader: ReaderSlot::new(reader),
                }),
                None => {}
            }
        }
        RoomEvent::StreamChunkReceived { identity, chunk } => {
            if !incoming
                .topic_of(&chunk.stream_id)
                .is_some_and(is_internal_topic)
            {
                emit(RoomEvent::StreamChunkReceived {
                    identity,
                    chunk: chunk.clone(),
                });
            }
            incoming.chunk(chunk);
        }
        RoomEvent::StreamTrailerReceived { identity, trailer } => {
            if !incoming
                .topic_of(&trailer.stream_id)
                .is_some_and(is_internal_topic)
            {
                emit(RoomEvent::StreamTrailerReceived {
                    identity,
                    trailer: trailer.clone(),
                });
            }
            incoming.trailer(trailer);
        }
        RoomEvent::ParticipantDisconnected { identity, reason } => {
            incoming.abort_from(&identity);
            emit(RoomEvent::ParticipantDisconnected { identity, reason });
        }
        event @ RoomEvent::Disconnected { .. } => {
            incoming.close_all(ROOM_CLOSED);
            emit(event);
        }
        other => emit(other),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use livekit_protocol::data_stream as wire;

    use super::*;
    use crate::room::streams::StreamError;

    fn header(id: &str, topic: &str) -> wire::Header {
        wire::Header {
            stream_id: id.into(),
            topic: topic.into(),
            mime_type: "text/plain".into(),
            content_header: Some(wire::header::ContentHeader::TextHeader(
                wire::TextHeader::default(),
            )),
            ..Default::default()
        }
    }

    fn run(incoming: &mut Incoming, events: Vec<RoomEvent>) -> Vec<RoomEvent> {
        let mut out = Vec::new();
        for event in events {
            route(incoming, event, &mut |e| out.push(e));
        }
        out
    }

    fn names(events: &[RoomEvent]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                RoomEvent::StreamHeaderReceived { .. } => "header",
                RoomEvent::StreamChunkReceived { .. } => "chunk",
                RoomEvent::StreamTrailerReceived { .. } => "trailer",
                RoomEvent::TextStreamOpened { .. } => "text",
                RoomEvent::ByteStreamOpened { .. } => "bytes",
                RoomEvent::ParticipantDisconnected { .. } => "left",
                _ => "other",
            })
            .collect()
    }

    #[tokio::test]
    async fn a_stream_is_announced_after_its_header_and_read_to_the_end() {
        let mut incoming = Incoming::new(u64::MAX);
        let out = run(
            &mut incoming,
            vec![
                RoomEvent::StreamHeaderReceived {
                    identity: "a".into(),
                    header: header("s", "chat"),
                },
                RoomEvent::StreamChunkReceived {
                    identity: "a".into(),
                    chunk: wire::Chunk {
                        stream_id: "s".into(),
                        content: b"hi".to_vec(),
                        ..Default::default()
                    },
                },
                RoomEvent::StreamTrailerReceived {
                    identity: "a".into(),
                    trailer: wire::Trailer {
                        stream_id: "s".into(),
                        reason: String::new(),
                        attributes: HashMap::new(),
                    },
                },
            ],
        );
        assert_eq!(names(&out), ["header", "text", "chunk", "trailer"]);
        let RoomEvent::TextStreamOpened { identity, reader } = &out[1] else {
            unreachable!()
        };
        assert_eq!(identity, "a");
        let reader = reader.take().unwrap();
        assert_eq!(reader.info().topic, "chat");
        assert_eq!(reader.read_all().await.unwrap(), "hi");
    }

    #[tokio::test]
    async fn internal_topics_get_readers_but_no_raw_events() {
        let mut incoming = Incoming::new(u64::MAX);
        let out = run(
            &mut incoming,
            vec![
                RoomEvent::StreamHeaderReceived {
                    identity: "a".into(),
                    header: header("r", "lk.rpc_request"),
                },
                RoomEvent::StreamChunkReceived {
                    identity: "a".into(),
                    chunk: wire::Chunk {
                        stream_id: "r".into(),
                        ..Default::default()
                    },
                },
            ],
        );
        assert_eq!(names(&out), ["text"]);
    }

    #[tokio::test]
    async fn a_leaving_sender_fails_its_stream() {
        let mut incoming = Incoming::new(u64::MAX);
        let out = run(
            &mut incoming,
            vec![
                RoomEvent::StreamHeaderReceived {
                    identity: "a".into(),
                    header: header("s", "chat"),
                },
                RoomEvent::ParticipantDisconnected {
                    identity: "a".into(),
                    reason: 0,
                },
            ],
        );
        assert_eq!(names(&out), ["header", "text", "left"]);
        let RoomEvent::TextStreamOpened { reader, .. } = &out[1] else {
            unreachable!()
        };
        assert!(matches!(
            reader.take().unwrap().read_all().await,
            Err(StreamError::AbnormalEnd(_))
        ));
    }

    #[tokio::test]
    async fn the_stage_passes_other_events_and_fails_streams_at_the_end() {
        let (tx, raw) = mpsc::unbounded_channel();
        let mut events = spawn(raw, u64::MAX);
        tx.send(RoomEvent::RoomSidChanged("RM_x".into())).unwrap();
        tx.send(RoomEvent::StreamHeaderReceived {
            identity: "a".into(),
            header: header("s", "chat"),
        })
        .unwrap();
        drop(tx);
        assert!(matches!(
            events.recv().await,
            Some(RoomEvent::RoomSidChanged(_))
        ));
        assert!(matches!(
            events.recv().await,
            Some(RoomEvent::StreamHeaderReceived { .. })
        ));
        let Some(RoomEvent::TextStreamOpened { reader, .. }) = events.recv().await else {
            panic!("a reader expected");
        };
        assert!(events.recv().await.is_none());
        assert!(matches!(
            reader.take().unwrap().read_all().await,
            Err(StreamError::AbnormalEnd(_))
        ));
    }
}
