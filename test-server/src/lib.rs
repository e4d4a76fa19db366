//! A local LiveKit server for tests.
//!
//! [`TestServer::start`] finds or installs `livekit-server` (through
//! `scripts/livekit-server.sh install`, which caches it in `.tools/bin`; the
//! first install builds it with Go and takes a few minutes), starts it in dev
//! mode on 127.0.0.1 with free ports and the dev keys, waits until it answers
//! HTTP, and kills it when dropped. A watchdog kills it too if the test
//! process dies without dropping it.
//!
//! ```no_run
//! let server = livekit_test_server::TestServer::start();
//! let token = server.token("alice", "my-room");
//! // connect to server.url() with the token ...
//! server.room_service().remove_participant("my-room", "alice").unwrap();
//! ```
//!
//! Environment: `LIVEKIT_SERVER_BIN` uses that binary instead of installing
//! one; `LIVEKIT_TEST_SERVER_KEEP_LOGS=1` keeps each server's directory
//! (config and log) after it stops. The log of a server dropped while its test
//! panics is always kept, and its path printed.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use livekit_api::access_token::{AccessToken, VideoGrants};

/// The dev API key the server is started with.
pub const API_KEY: &str = "devkey";
/// The dev API secret the server is started with.
pub const API_SECRET: &str = "secret";

/// How long a start may take before it is reported as failed.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Connect, read and write timeout of each HTTP request to the server.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `livekit-server --dev` on 127.0.0.1; killed on drop.
pub struct TestServer {
    child: Child,
    http_port: u16,
    rtc_tcp_port: u16,
    rtc_udp_port: u16,
    dir: PathBuf,
}

impl TestServer {
    /// Starts a server, panicking (with the end of its log) if it cannot.
    pub fn start() -> TestServer {
        match Self::try_start() {
            Ok(server) => server,
            Err(e) => panic!("could not start livekit-server: {e}"),
        }
    }

    /// Starts a server: installs the binary if needed, picks free ports,
    /// waits until `GET /` answers.
    pub fn try_start() -> io::Result<TestServer> {
        let bin = binary()?;
        let mut last_error = None;
        for _attempt in 0..3 {
            match Self::spawn(&bin) {
                Ok(server) => return Ok(server),
                // Most likely a port taken between picking and binding it.
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no attempt made")))
    }

    fn spawn(bin: &Path) -> io::Result<TestServer> {
        let dir = unique_dir()?;
        let (http_port, rtc_tcp_port, rtc_udp_port) = free_ports()?;
        let config = format!(
            "port: {http_port}\n\
             bind_addresses: [\"127.0.0.1\"]\n\
             rtc:\n  \
               tcp_port: {rtc_tcp_port}\n  \
               udp_port: {rtc_udp_port}\n  \
               use_external_ip: false\n  \
               node_ip: 127.0.0.1\n  \
               enable_loopback_candidate: true\n\
             keys:\n  \
               {API_KEY}: {API_SECRET}\n"
        );
        let config_path = dir.join("config.yaml");
        fs::write(&config_path, config)?;
        let log = File::create(dir.join("server.log"))?;
        let child = Command::new(bin)
            .arg("--dev")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut server = TestServer {
            child,
            http_port,
            rtc_tcp_port,
            rtc_udp_port,
            dir,
        };
        spawn_watchdog(server.child.id());

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = server.child.try_wait()? {
                let tail = server.log_tail(20);
                return Err(io::Error::other(format!(
                    "livekit-server exited ({status}) while starting; log {}:\n{tail}",
                    server.log_path().display()
                )));
            }
            if let Ok((200, body)) = server.get("/", &[])
                && body.trim() == "OK"
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let tail = server.log_tail(20);
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("livekit-server not ready after {START_TIMEOUT:?}; log:\n{tail}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The signal URL, `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.http_port)
    }

    /// The same port over HTTP, `http://127.0.0.1:PORT` (server API, health).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The HTTP / WebSocket port.
    pub fn port(&self) -> u16 {
        self.http_port
    }

    /// The ICE/TCP port.
    pub fn rtc_tcp_port(&self) -> u16 {
        self.rtc_tcp_port
    }

    /// The (single, multiplexed) ICE/UDP port.
    pub fn rtc_udp_port(&self) -> u16 {
        self.rtc_udp_port
    }

    pub fn api_key(&self) -> &str {
        API_KEY
    }

    pub fn api_secret(&self) -> &str {
        API_SECRET
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's combined stdout and stderr.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// An access token with the dev keys and nothing else, to add grants to.
    pub fn access_token(&self) -> AccessToken {
        AccessToken::with_api_key(API_KEY, API_SECRET)
    }

    /// A join token for `identity` in `room`. It may also update its own
    /// metadata, name and attributes (the server's default is not to).
    pub fn token(&self, identity: &str, room: &str) -> String {
        self.token_with(identity, room, "", "", &[])
    }

    /// A join token with a display name, metadata and attributes; empty
    /// `name` / `metadata` are left out.
    pub fn token_with(
        &self,
        identity: &str,
        room: &str,
        name: &str,
        metadata: &str,
        attributes: &[(&str, &str)],
    ) -> String {
        let mut token = self
            .access_token()
            .with_identity(identity)
            .with_grants(join_grants(room));
        if !name.is_empty() {
            token = token.with_name(name);
        }
        if !metadata.is_empty() {
            token = token.with_metadata(metadata);
        }
        if !attributes.is_empty() {
            token = token.with_attributes(attributes.iter().map(|&(k, v)| (k, v)));
        }
        token.to_jwt().expect("sign join token")
    }

    /// A token for the server API: admin of `room` (or of every room when
    /// empty), may create and list rooms.
    pub fn admin_token(&self, room: &str) -> String {
        admin_token(room)
    }

    /// The RoomService of this server.
    pub fn room_service(&self) -> RoomService {
        RoomService { addr: self.addr() }
    }

    /// `GET path` with extra headers: (status, body).
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> io::Result<(u16, String)> {
        http_request(self.addr(), "GET", path, headers, None)
    }

    /// Asks the server whether it accepts `token` (`GET /rtc/validate`):
    /// Ok(()) on 200, otherwise the status and the server's reason.
    pub fn validate(&self, token: &str) -> Result<(), (u16, String)> {
        let auth = format!("Bearer {token}");
        match self.get("/rtc/validate", &[("Authorization", &auth)]) {
            Ok((200, _)) => Ok(()),
            Ok((status, body)) => Err((status, body.trim().to_owned())),
            Err(e) => Err((0, e.to_string())),
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.http_port))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let keep = std::env::var_os("LIVEKIT_TEST_SERVER_KEEP_LOGS").is_some_and(|v| !v.is_empty());
        if std::thread::panicking() {
            eprintln!("livekit-server log kept: {}", self.log_path().display());
        } else if !keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("url", &self.url())
            .field("pid", &self.child.id())
            .field("rtc_tcp_port", &self.rtc_tcp_port)
            .field("rtc_udp_port", &self.rtc_udp_port)
            .field("dir", &self.dir)
            .finish()
    }
}

fn join_grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_owned(),
        can_update_own_metadata: Some(true),
        ..Default::default()
    }
}

fn admin_token(room: &str) -> String {
    AccessToken::with_api_key(API_KEY, API_SECRET)
        .with_grants(VideoGrants {
            room_admin: true,
            room_create: true,
            room_list: true,
            room: room.to_owned(),
            ..Default::default()
        })
        .to_jwt()
        .expect("sign admin token")
}

// --------------------------------------------------------------------------
// The binary
// --------------------------------------------------------------------------

/// The path of the `livekit-server` binary, installing it on first use:
/// `LIVEKIT_SERVER_BIN` if set, otherwise what `scripts/livekit-server.sh
/// install` prints (it caches the build in `.tools/bin`).
pub fn binary() -> io::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| find_or_install().map_err(|e| e.to_string()))
        .clone()
        .map_err(io::Error::other)
}

/// `scripts/livekit-server.sh` in this repository.
pub fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("livekit-server.sh")
}

fn find_or_install() -> io::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("LIVEKIT_SERVER_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(bin));
    }
    let script = script_path();
    if !script.exists() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} not found; set LIVEKIT_SERVER_BIN", script.display()),
        ));
    }
    // stderr passes through: the first install says what it is doing.
    let out = Command::new("bash")
        .arg(&script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{} install failed ({})",
            script.display(),
            out.status
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout.lines().last().unwrap_or("").trim();
    if path.is_empty() {
        return Err(io::Error::other(
            "livekit-server.sh install printed no path",
        ));
    }
    Ok(PathBuf::from(path))
}

// --------------------------------------------------------------------------
// Ports, directories, the watchdog
// --------------------------------------------------------------------------

/// Three ports free on 127.0.0.1 right now: HTTP, ICE/TCP, ICE/UDP.
fn free_ports() -> io::Result<(u16, u16, u16)> {
    let http = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((
        http.local_addr()?.port(),
        tcp.local_addr()?.port(),
        udp.local_addr()?.port(),
    ))
}

fn unique_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "livekit-test-server-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Kills the server if this process goes away without dropping it (a test
/// binary killed by a timeout, say). Exits by itself once the server is gone.
fn spawn_watchdog(server_pid: u32) {
    let script = "while kill -0 \"$1\" 2>/dev/null && kill -0 \"$2\" 2>/dev/null; do sleep 1; done; \
                  kill -9 \"$2\" 2>/dev/null; exit 0";
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("livekit-test-server-watchdog")
        .arg(std::process::id().to_string())
        .arg(server_pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reap it in the background so it does not linger as a zombie.
            std::thread::spawn(move || child.wait());
        });
}

// --------------------------------------------------------------------------
// The server API (Twirp: POST JSON over plain HTTP)
// --------------------------------------------------------------------------

/// The server's `livekit.RoomService`, called with an admin token.
#[derive(Clone, Debug)]
pub struct RoomService {
    addr: SocketAddr,
}

/// A failed server API call.
#[derive(Debug)]
pub enum ApiError {
    /// The request did not get an answer.
    Io(io::Error),
    /// The server answered with an error: HTTP status, Twirp code, message.
    Server {
        status: u16,
        code: String,
        msg: String,
    },
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Io(e) => write!(f, "server API request failed: {e}"),
            ApiError::Server { status, code, msg } => {
                write!(f, "server API error {status} {code}: {msg}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

impl From<io::Error> for ApiError {
    fn from(e: io::Error) -> Self {
        ApiError::Io(e)
    }
}

impl ApiError {
    /// The Twirp error code ("not_found", "permission_denied", ...), if any.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Server { code, .. } => Some(code),
            ApiError::Io(_) => None,
        }
    }
}

impl RoomService {
    /// A RoomService for a server listening on `addr` (e.g. one started by
    /// `scripts/livekit-server.sh start` with the dev keys).
    pub fn new(addr: SocketAddr) -> RoomService {
        RoomService { addr }
    }

    /// Calls `livekit.RoomService/<method>` with a JSON body, authorised for
    /// `room` (empty: any room), and returns the JSON answer.
    pub fn call(
        &self,
        method: &str,
        room: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        let auth = format!("Bearer {}", admin_token(room));
        let path = format!("/twirp/livekit.RoomService/{method}");
        let body = body.to_string();
        let (status, text) = http_request(
            self.addr,
            "POST",
            &path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            Some(body.as_bytes()),
        )?;
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if status == 200 {
            return Ok(json);
        }
        let field = |name: &str| {
            json.get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Err(ApiError::Server {
            status,
            code: field("code"),
            msg: if json.is_null() { text } else { field("msg") },
        })
    }

    /// Creates `room` (rooms are also created on first join).
    pub fn create_room(&self, room: &str) -> Result<serde_json::Value, ApiError> {
        self.call("CreateRoom", "", &serde_json::json!({ "name": room }))
    }

    /// The rooms that exist, as JSON `Room` objects.
    pub fn list_rooms(&self) -> Result<Vec<serde_json::Value>, ApiError> {
        let resp = self.call("ListRooms", "", &serde_json::json!({}))?;
        Ok(resp
            .get("rooms")
            .and_then(|r| r.as_array())
            .cloned()
            .unwrap_or_default())
    }

    /// Deletes `room`, disconnecting everyone in it (reason ROOM_DELETED).
    pub fn delete_room(&self, room: &str) -> Result<(), ApiError> {
        self.call("DeleteRoom", "", &serde_json::json!({ "room": room }))
            .map(drop)
    }

    /// The participants of `room`, as JSON `ParticipantInfo` objects.
    pub fn list_participants(&self, room: &str) -> Result<Vec<serde_json::Value>, ApiError> {
        let resp = self.call(
            "ListParticipants",
            room,
            &serde_json::json!({ "room": room }),
        )?;
        Ok(resp
            .get("participants")
            .and_then(|p| p.as_array())
            .cloned()
            .unwrap_or_default())
    }

    /// Removes `identity` from `room` (reason PARTICIPANT_REMOVED).
    pub fn remove_participant(&self, room: &str, identity: &str) -> Result<(), ApiError> {
        self.call(
            "RemoveParticipant",
            room,
            &serde_json::json!({ "room": room, "identity": identity }),
        )
        .map(drop)
    }

    /// Sets the room's metadata (participants get room_metadata_changed).
    pub fn update_room_metadata(
        &self,
        room: &str,
        metadata: &str,
    ) -> Result<serde_json::Value, ApiError> {
        self.call(
            "UpdateRoomMetadata",
            room,
            &serde_json::json!({ "room": room, "metadata": metadata }),
        )
    }

    /// Updates a participant's metadata, name and attributes (each only if
    /// given).
    pub fn update_participant(
        &self,
        room: &str,
        identity: &str,
        metadata: Option<&str>,
        name: Option<&str>,
        attributes: &[(&str, &str)],
    ) -> Result<serde_json::Value, ApiError> {
        let mut body = serde_json::json!({ "room": room, "identity": identity });
        if let Some(metadata) = metadata {
            body["metadata"] = metadata.into();
        }
        if let Some(name) = name {
            body["name"] = name.into();
        }
        if !attributes.is_empty() {
            let map: HashMap<&str, &str> = attributes.iter().copied().collect();
            body["attributes"] = serde_json::json!(map);
        }
        self.call("UpdateParticipant", room, &body)
    }

    /// Sends a data packet from the server to `room` (to everyone when
    /// `destination_identities` is empty).
    pub fn send_data(
        &self,
        room: &str,
        data: &[u8],
        reliable: bool,
        topic: &str,
        destination_identities: &[&str],
    ) -> Result<(), ApiError> {
        let body = serde_json::json!({
            "room": room,
            "data": base64(data),
            "kind": if reliable { "RELIABLE" } else { "LOSSY" },
            "topic": topic,
            "destination_identities": destination_identities,
        });
        self.call("SendData", room, &body).map(drop)
    }
}

/// Standard base64 with padding (protobuf JSON's encoding of `bytes`).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// --------------------------------------------------------------------------
// A minimal blocking HTTP/1.1 client (one request per connection)
// --------------------------------------------------------------------------

fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let body = body.unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;

    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no end of HTTP headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut payload = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad HTTP status line"))?;
    let chunked = lines.any(|line| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("transfer-encoding:") && lower.contains("chunked")
    });
    if chunked {
        payload = dechunk(&payload)?;
    }
    Ok((status, String::from_utf8_lossy(&payload).into_owned()))
}

fn dechunk(mut data: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked encoding");
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&data[..eol]).map_err(|_| bad())?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad())?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn dechunk_joins_chunks() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").unwrap(),
            b"Wikipedia"
        );
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[test]
    fn tokens_carry_the_claims() {
        let token = AccessToken::with_api_key(API_KEY, API_SECRET)
            .with_identity("alice")
            .with_grants(join_grants("r1"))
            .to_jwt()
            .unwrap();
        let claims = livekit_api::access_token::Claims::from_unverified(&token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert!(claims.video.room_join);
        assert_eq!(claims.video.room, "r1");
        assert_eq!(claims.video.can_update_own_metadata, Some(true));
        let admin = livekit_api::access_token::Claims::from_unverified(&admin_token("r2")).unwrap();
        assert!(admin.video.room_admin && admin.video.room_create && admin.video.room_list);
        assert_eq!(admin.video.room, "r2");
    }
}
