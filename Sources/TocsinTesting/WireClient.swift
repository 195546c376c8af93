import Foundation
import TocsinCore
import ZeroMQ

/// A DEALER client for tests of the wire contract: send frames, read JSON replies with a time-out.
public final class WireClient {
    public let context: Context
    public let socket: Socket

    public init(endpoint: String, curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws {
        context = try Context()
        socket = try context.makeSocket(.dealer)
        try socket.setReceiveTimeout(milliseconds: 5000)
        try socket.setSendHighWaterMark(100_000)
        try socket.setReceiveHighWaterMark(100_000)
        if let curve {
            try socket.setCurveServerKey(curve.serverKey)
            try socket.setCurvePublicKey(curve.keys.publicKey)
            try socket.setCurveSecretKey(curve.keys.secretKey)
        }
        try socket.connect(endpoint)
    }

    public func send(_ frame: [UInt8]) throws { try socket.send([frame]) }
    public func send(_ text: String) throws { try socket.send([Array(text.utf8)]) }

    /// The next reply as JSON, or nil when none came within the receive time-out.
    public func reply(timeoutMilliseconds: Int32 = 5000) throws -> JSONValue? {
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
        guard let m = try socket.receive() else { return nil }
        guard let frame = m.frames.last else { return nil }
        return try JSONValue.parse(frame)
    }

    /// Sends one frame and waits for its reply.
    public func request(_ text: String, timeoutMilliseconds: Int32 = 5000) throws -> JSONValue? {
        try send(text)
        return try reply(timeoutMilliseconds: timeoutMilliseconds)
    }

    public func close() {
        socket.close()
        context.shutdown()
        context.terminate()
    }
}

/// Builders for event JSON as platforms send it.
public enum TestEvents {
    public static let baseTime = "2026-07-01T08:30:00Z"

    public static func water(id: String, source: String = "sz.futian.shatou", level: Double = 2.0,
                             time: String = baseTime, lat: Double = 22.5277, lon: Double = 114.0250,
                             status: String = "actual") -> String {
        #"{"id":"\#(id)","source":"\#(source)","kind":"sensor","type":"water_level","time":"\#(time)","location":{"lat":\#(lat),"lon":\#(lon)},"values":{"level_m":\#(level)},"status":"\#(status)"}"#
    }

    public static func fire(id: String, source: String = "sz.futian.shatou", injured: Int? = nil,
                            time: String = baseTime, lat: Double = 22.5277, lon: Double = 114.0250,
                            status: String = "actual") -> String {
        let values = injured.map { #","values":{"injured":\#($0)}"# } ?? ""
        return #"{"id":"\#(id)","source":"\#(source)","kind":"report","type":"report.fire","time":"\#(time)","location":{"lat":\#(lat),"lon":\#(lon)}\#(values),"status":"\#(status)","text":"smoke from the 12th floor"}"#
    }
}
