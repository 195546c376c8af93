import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// An in-process pipeline on private ipc endpoints in a temporary folder.
final class TestPipeline {
    let dir: String
    let config: TocsinConfiguration
    let pipeline: Pipeline

    init(security: SecurityConfig? = nil, areas: AreaTree? = nil, durability: Durability = .normal) throws {
        dir = Fixtures.temporaryDirectory("tocsin-pipe")
        var c = Fixtures.shippedConfig
        c.endpoints = Endpoints(ingest: "ipc://\(dir)/ingest", feed: "ipc://\(dir)/feed", command: "ipc://\(dir)/command")
        c.dataPath = dir + "/data"
        c.durability = durability
        if let security { c.security = security }
        if let areas { c.areas = areas }
        config = c
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        pipeline = try Pipeline(config: c, logger: logger)
        pipeline.start()
    }

    func client(curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws -> WireClient {
        try WireClient(endpoint: config.endpoints.ingest, curve: curve)
    }

    func commandClient(curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws -> WireClient {
        try WireClient(endpoint: config.endpoints.command, curve: curve)
    }

    func stop() {
        pipeline.stop()
        Fixtures.removeTemporary(dir)
    }
}

extension JSONValue {
    var int: Int? { numberValue.map { Int($0) } }
}
