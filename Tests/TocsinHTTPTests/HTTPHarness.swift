import Foundation
import Logging
import Testing
import TocsinConfig
import TocsinCore
import TocsinHTTP
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// Operators of the test configuration: the city, Futian district, Nanshan district.
enum Ops {
    static let city = OperatorConfig(name: "city-duty", token: "city-token-0123456789", area: AreaPath(unchecked: "sz"))
    static let futian = OperatorConfig(name: "futian-duty", token: "futian-token-0123456789",
                                       area: AreaPath(unchecked: "sz.futian"))
    static let nanshan = OperatorConfig(name: "nanshan-duty", token: "nanshan-token-0123456789",
                                        area: AreaPath(unchecked: "sz.nanshan"))
}

/// An in-process pipeline (live clock, private ipc endpoints) with the HTTP server on a free port.
final class HTTPTestPipeline {
    let dir: String
    let config: TocsinConfiguration
    let pipeline: Pipeline
    let server: HTTPServer
    let platform: WireClient

    init() throws {
        dir = Fixtures.temporaryDirectory("tocsin-http")
        var c = Fixtures.shippedConfig
        c.endpoints = Endpoints(ingest: "ipc://\(dir)/ingest", feed: "ipc://\(dir)/feed", command: "ipc://\(dir)/command")
        c.dataPath = dir + "/data"
        c.durability = .normal
        c.http = HTTPConfig(enabled: true, host: "127.0.0.1", port: 0, operators: [Ops.city, Ops.futian, Ops.nanshan])
        config = c
        let registry = TocsinMetrics.registry
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["TOCSIN_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        pipeline = try Pipeline(config: c, logger: logger)
        pipeline.start()
        server = HTTPServer(config: c, context: pipeline.context, commandEndpoint: Pipeline.localCommand,
                            feedEndpoint: Pipeline.localFeed, registry: registry, logger: logger)
        try server.start()
        platform = try WireClient(endpoint: c.endpoints.ingest)
    }

    var port: Int { server.port }

    func stop() {
        platform.close()
        server.stop()
        pipeline.stop()
        Fixtures.removeTemporary(dir)
    }

    /// Publishes an event (JSON text) and expects it accepted.
    func publish(_ event: String) throws {
        let reply = try #require(try platform.request(event))
        #expect(reply["status"] == "accepted", "\(reply)")
    }

    /// Waits (bounded) until the pipeline has applied everything journaled.
    func waitIdle() throws {
        let command = try WireClient(endpoint: config.endpoints.command)
        defer { command.close() }
        for _ in 0..<500 {
            if try command.request(#"{"op":"progress"}"#)?["idle"] == true { return }
            usleep(10_000)
        }
        throw PipelineError("pipeline did not become idle")
    }

    func get(_ path: String, token: String? = nil) throws -> MiniHTTP.Response {
        try MiniHTTP.request(port: port, method: "GET", path: path, token: token)
    }

    func post(_ path: String, token: String?, body: String = "{}") throws -> MiniHTTP.Response {
        try MiniHTTP.request(port: port, method: "POST", path: path, token: token, body: body)
    }

    /// Polls `GET path` (bounded, 10 s) until `until` holds for its JSON.
    func poll(_ path: String, token: String, until: (JSONValue) -> Bool) throws -> JSONValue {
        var last: JSONValue = .null
        for _ in 0..<200 {
            last = try get(path, token: token).json
            if until(last) { return last }
            usleep(50_000)
        }
        Issue.record("condition on \(path) never held; last: \(last)")
        return last
    }
}

/// A small HTTP/1.1 client over a plain socket: what the tests check is the server's wire behaviour.
enum MiniHTTP {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }
    }

    static func connect(port: Int, timeoutSeconds: Int = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw PipelineError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func send(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            sent += n
        }
    }

    static func head(method: String, path: String, token: String?, extra: [String] = [], bodyLength: Int? = nil) -> String {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        if let token { lines.append("Authorization: Bearer \(token)") }
        if let bodyLength { lines += ["Content-Type: application/json", "Content-Length: \(bodyLength)"] }
        lines += extra
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    static func request(port: Int, method: String, path: String, token: String?, body: String? = nil,
                        extra: [String] = []) throws -> Response {
        let fd = try connect(port: port)
        defer { close(fd) }
        send(fd, head(method: method, path: path, token: token, extra: extra, bodyLength: body.map { $0.utf8.count })
             + (body ?? ""))
        var raw: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            raw += buffer[0..<n]
        }
        return try parse(raw)
    }

    static func parse(_ raw: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, raw.count - 3)).first(where: { Array(raw[$0..<$0 + 4]) == separator }) else {
            throw PipelineError("no HTTP response head in \(raw.count) bytes")
        }
        let head = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(raw[(end + 4)...])
        if headers["transfer-encoding"] == "chunked" { body = dechunk(body) }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < data.count {
            guard let lineEnd = (i..<max(i, data.count - 1)).first(where: { data[$0] == 13 && data[$0 + 1] == 10 }) else { break }
            let size = Int(String(decoding: data[i..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd + 2
            out += data[start..<min(data.count, start + size)]
            i = start + size + 2
        }
        return out
    }
}

extension JSONValue {
    var int: Int? { numberValue.map { Int($0) } }
}

/// Events around now (live clock): the pipeline's time is the wall clock.
enum LiveEvents {
    static func water(_ id: String, level: Double, source: String = "sz.futian.shatou") -> String {
        TestEvents.water(id: id, source: source, level: level, time: WallClock.now().rfc3339)
    }
}
