use super::*;

fn participant(sid: &str, identity: &str, state: ParticipantState) -> proto::ParticipantInfo {
    proto::ParticipantInfo {
        sid: sid.into(),
        identity: identity.into(),
        state: state as i32,
        version: 1,
        ..Default::default()
    }
}

fn track(sid: &str, muted: bool) -> proto::TrackInfo {
    proto::TrackInfo {
        sid: sid.into(),
        muted,
        ..Default::default()
    }
}

fn joined() -> RoomState {
    RoomState::from_join(&proto::JoinResponse {
        room: Some(proto::Room {
            sid: "RM_1".into(),
            name: "r".into(),
            ..Default::default()
        }),
        participant: Some(participant("PA_me", "me", ParticipantState::Joined)),
        other_participants: vec![participant("PA_a", "a", ParticipantState::Active)],
        ..Default::default()
    })
}

fn names(events: &[RoomEvent]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e {
            RoomEvent::ParticipantConnected(_) => "connected",
            RoomEvent::ParticipantDisconnected { .. } => "disconnected",
            RoomEvent::ParticipantActive(_) => "active",
            RoomEvent::ParticipantsUpdated(_) => "updated",
            RoomEvent::TrackPublished { .. } => "published",
            RoomEvent::TrackUnpublished { .. } => "unpublished",
            RoomEvent::TrackMuted { .. } => "muted",
            RoomEvent::TrackUnmuted { .. } => "unmuted",
            RoomEvent::ParticipantMetadataChanged { .. } => "metadata",
            RoomEvent::ParticipantNameChanged { .. } => "name",
            RoomEvent::ParticipantAttributesChanged { .. } => "attributes",
            _ => "other",
        })
        .collect()
}

#[test]
fn join_lists_existing_participants_without_events() {
    let state = joined();
    assert_eq!(state.remotes().len(), 1);
    assert_eq!(state.identity_of_sid("PA_a"), Some("a"));
    assert_eq!(state.identity_of_sid("PA_me"), Some("me"));
    assert!(state.knows("me") && state.knows("a") && !state.knows("b"));
}

#[test]
fn new_participant_is_announced_before_its_tracks() {
    let mut state = joined();
    let mut b = participant("PA_b", "b", ParticipantState::Active);
    b.tracks = vec![track("TR_1", false)];
    let events = state.apply_participant_update(&[b]);
    assert_eq!(
        names(&events),
        ["connected", "published", "active", "updated"]
    );
    match &events[0] {
        RoomEvent::ParticipantConnected(info) => assert!(info.tracks.is_empty()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn leaving_participant_unpublishes_then_disconnects_with_reason() {
    let mut state = joined();
    let mut a = participant("PA_a", "a", ParticipantState::Active);
    a.tracks = vec![track("TR_1", false)];
    state.apply_participant_update(&[a.clone()]);
    a.state = ParticipantState::Disconnected as i32;
    a.disconnect_reason = proto::DisconnectReason::ParticipantRemoved as i32;
    let events = state.apply_participant_update(&[a]);
    assert_eq!(names(&events), ["unpublished", "disconnected", "updated"]);
    match &events[1] {
        RoomEvent::ParticipantDisconnected { identity, reason } => {
            assert_eq!(identity, "a");
            assert_eq!(*reason, proto::DisconnectReason::ParticipantRemoved as i32);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(state.remote("a").is_none());
}

#[test]
fn unknown_disconnected_participant_is_ignored() {
    let mut state = joined();
    let events =
        state.apply_participant_update(&[participant("PA_x", "x", ParticipantState::Disconnected)]);
    assert_eq!(names(&events), ["updated"]);
}

#[test]
fn field_changes_produce_their_events_with_changed_attributes() {
    let mut state = joined();
    let mut a = participant("PA_a", "a", ParticipantState::Active);
    a.attributes.insert("k".into(), "v".into());
    a.attributes.insert("gone".into(), "x".into());
    state.apply_participant_update(&[a.clone()]);
    a.version = 2;
    a.metadata = "m".into();
    a.name = "Alice".into();
    a.attributes.remove("gone");
    a.attributes.insert("k".into(), "w".into());
    let events = state.apply_participant_update(&[a]);
    assert_eq!(
        names(&events),
        ["metadata", "name", "attributes", "updated"]
    );
    match &events[2] {
        RoomEvent::ParticipantAttributesChanged {
            attributes,
            changed,
            ..
        } => {
            assert_eq!(attributes.len(), 1);
            assert_eq!(changed.get("k").map(String::as_str), Some("w"));
            assert_eq!(changed.get("gone").map(String::as_str), Some(""));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn stale_versions_are_dropped() {
    let mut state = joined();
    let mut a = participant("PA_a", "a", ParticipantState::Active);
    a.version = 5;
    a.metadata = "new".into();
    state.apply_participant_update(&[a.clone()]);
    a.version = 4;
    a.metadata = "old".into();
    let events = state.apply_participant_update(&[a]);
    assert_eq!(names(&events), ["updated"]);
    assert_eq!(state.remote("a").map(|p| p.metadata.as_str()), Some("new"));
}

#[test]
fn local_updates_report_under_our_identity() {
    let mut state = joined();
    let mut me = participant("PA_me", "me", ParticipantState::Active);
    me.version = 2;
    me.name = "Me".into();
    let events = state.apply_participant_update(&[me]);
    match &events[0] {
        RoomEvent::ParticipantNameChanged { identity, name } => {
            assert_eq!((identity.as_str(), name.as_str()), ("me", "Me"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(state.remotes().iter().all(|p| p.identity != "me"));
}

#[test]
fn mute_changes_follow_track_publication() {
    let mut state = joined();
    let mut a = participant("PA_a", "a", ParticipantState::Active);
    a.tracks = vec![track("TR_1", false)];
    state.apply_participant_update(&[a.clone()]);
    a.version = 2;
    a.tracks = vec![track("TR_1", true)];
    assert_eq!(
        names(&state.apply_participant_update(&[a])),
        ["muted", "updated"]
    );
}

#[test]
fn new_session_under_same_identity_replaces_the_old_one() {
    let mut state = joined();
    let events =
        state.apply_participant_update(&[participant("PA_a2", "a", ParticipantState::Active)]);
    assert_eq!(
        names(&events),
        ["disconnected", "connected", "active", "updated"]
    );
}

#[test]
fn speakers_are_sorted_loudest_first_and_only_changes_reported() {
    let mut state = joined();
    let speak = |sid: &str, level: f32, active: bool| proto::SpeakerInfo {
        sid: sid.into(),
        level,
        active,
    };
    let events = state.apply_speakers(&[speak("PA_a", 0.2, true), speak("PA_me", 0.9, true)]);
    match &events[..] {
        [RoomEvent::ActiveSpeakersChanged(ids)] => assert_eq!(ids, &["me", "a"]),
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        state
            .apply_speakers(&[speak("PA_unknown", 1.0, true)])
            .is_empty()
    );
    let events = state.apply_speakers(&[speak("PA_me", 0.0, false)]);
    match &events[..] {
        [RoomEvent::ActiveSpeakersChanged(ids)] => assert_eq!(ids, &["a"]),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn room_update_reports_metadata_and_sid() {
    let mut state = joined();
    let events = state.apply_room_update(&proto::Room {
        sid: "RM_2".into(),
        metadata: "hello".into(),
        ..Default::default()
    });
    assert!(matches!(&events[0], RoomEvent::RoomMetadataChanged(m) if m == "hello"));
    assert!(matches!(&events[1], RoomEvent::RoomSidChanged(s) if s == "RM_2"));
    assert!(matches!(&events[2], RoomEvent::RoomUpdated(_)));
}

#[test]
fn quality_updates_skip_unknown_sids() {
    let state = joined();
    let events = state.apply_quality(&[
        proto::ConnectionQualityInfo {
            participant_sid: "PA_a".into(),
            quality: 2,
            score: 0.0,
        },
        proto::ConnectionQualityInfo {
            participant_sid: "PA_zz".into(),
            quality: 1,
            score: 0.0,
        },
    ]);
    assert_eq!(events.len(), 1);
}
