//! Starting and stopping the server, tokens it accepts, the RoomService.

use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use livekit_test_server::{API_KEY, AccessToken, RoomService, TestServer, VideoGrants};

fn process_alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; the server is reaped in Drop.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn starts_answers_and_stops_on_drop() {
    let server = TestServer::start();
    let port = server.port();
    let pid = server.pid();
    assert_eq!(server.url(), format!("ws://127.0.0.1:{port}"));
    assert_eq!(server.http_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.get("/", &[]).unwrap(), (200, "OK".to_owned()));
    assert!(
        server.log_tail(50).contains("starting LiveKit server"),
        "{}",
        server.log_tail(50)
    );
    assert_ne!(server.rtc_tcp_port(), port);
    assert_ne!(server.rtc_udp_port(), 0);
    assert!(process_alive(pid));
    let log = server.log_path();
    assert!(log.exists());

    drop(server);
    assert!(
        !process_alive(pid),
        "server process {pid} still running after drop"
    );
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err(),
        "port {port} still open"
    );
    assert!(!log.exists(), "log directory not cleaned up");
}

#[test]
fn two_servers_run_side_by_side() {
    let a = TestServer::start();
    let b = TestServer::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.rtc_udp_port(), b.rtc_udp_port());
    assert_eq!(a.get("/", &[]).unwrap().0, 200);
    assert_eq!(b.get("/", &[]).unwrap().0, 200);
}

#[test]
fn join_tokens_are_valid_and_bad_ones_are_not() {
    let server = TestServer::start();

    server
        .validate(&server.token("alice", "room-1"))
        .expect("plain token");
    let rich = server.token_with(
        "bob",
        "room-1",
        "Bob",
        r#"{"a":1}"#,
        &[("team", "red"), ("seat", "2")],
    );
    server
        .validate(&rich)
        .expect("token with name, metadata, attributes");
    let claims = livekit_api::access_token::Claims::from_unverified(&rich).unwrap();
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.name.as_str(),
            claims.metadata.as_str()
        ),
        ("bob", "Bob", r#"{"a":1}"#)
    );
    assert_eq!(
        claims.attributes.get("team").map(String::as_str),
        Some("red")
    );
    assert_eq!(claims.attributes.get("seat").map(String::as_str), Some("2"));
    assert_eq!(claims.iss, API_KEY);

    let forged = AccessToken::with_api_key(API_KEY, "not-the-secret")
        .with_identity("mallory")
        .with_grants(VideoGrants {
            room_join: true,
            room: "room-1".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    let (status, reason) = server.validate(&forged).unwrap_err();
    assert_eq!(status, 401, "{reason}");
    let (status, _) = server.validate("not-a-jwt").unwrap_err();
    assert_eq!(status, 401);
    // A key the server does not know. (An expired token cannot be made
    // here: the TTL is unsigned and the server allows a minute of leeway.)
    let unknown_key = AccessToken::with_api_key("otherkey", "secret")
        .with_identity("eve")
        .with_grants(VideoGrants {
            room_join: true,
            room: "room-1".into(),
            ..Default::default()
        })
        .to_jwt()
        .unwrap();
    assert_eq!(server.validate(&unknown_key).unwrap_err().0, 401);
}

#[test]
fn room_service_calls() {
    let server = TestServer::start();
    let rooms = server.room_service();

    let created = rooms.create_room("svc-room").unwrap();
    assert_eq!(created["name"], "svc-room");
    assert!(created["sid"].as_str().unwrap().starts_with("RM_"));
    let names: Vec<_> = rooms
        .list_rooms()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["svc-room"]);
    assert!(rooms.list_participants("svc-room").unwrap().is_empty());

    let updated = rooms.update_room_metadata("svc-room", "meta 1").unwrap();
    assert_eq!(updated["metadata"], "meta 1");
    rooms
        .send_data("svc-room", b"hello", true, "t", &[])
        .unwrap();

    let err = rooms.remove_participant("svc-room", "nobody").unwrap_err();
    assert_eq!(err.code(), Some("not_found"), "{err}");
    let err = rooms
        .update_participant("svc-room", "nobody", Some("m"), None, &[("k", "v")])
        .unwrap_err();
    assert_eq!(err.code(), Some("not_found"), "{err}");

    rooms.delete_room("svc-room").unwrap();
    assert!(rooms.list_rooms().unwrap().is_empty());

    // The same calls through an address, as for a server started by the script.
    let by_addr = RoomService::new(([127, 0, 0, 1], server.port()).into());
    assert!(by_addr.list_rooms().unwrap().is_empty());
}

#[test]
fn a_second_start_is_fast_once_installed() {
    drop(TestServer::start());
    let start = Instant::now();
    let server = TestServer::start();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    drop(server);
}
