import CPowerLossVFS
import Foundation
import Logging
import Testing
import TocsinCore
import TocsinStore
import TocsinTesting
import TocsinWorkers
import ZeroMQ

/// Power loss: the ingest gateway on a journal whose file system drops every write not yet synced (the
/// `powerloss` SQLite VFS of CPowerLossVFS). Platforms pipeline events; the power is cut while acknowledgements
/// flow; the journal is then reopened with the normal VFS, as after a reboot.
/// With `full` durability every acknowledged event is there; with `normal` acknowledged events are lost (the
/// control run that shows the difference).
@Suite(.serialized) struct PowerLossTests {
    /// Events per run and the acknowledgement count at which the power is cut (`TOCSIN_SOAK=full`: `make soak`).
    static let soak = ProcessInfo.processInfo.environment["TOCSIN_SOAK"] == "full"
    static let events = soak ? 50_000 : 3_000
    static let cuts = soak ? [1_000, 10_000, 40_000] : [1_500]

    struct Outcome {
        var acknowledged: Set<String>
        var stored: Set<String>
        var stats: powerloss_stats
        var lost: Set<String> { acknowledged.subtracting(stored) }
    }

    /// One life: the gateway on the shim, `events` pipelined (2,000 in flight), the power cut after `cutAfter`
    /// acknowledgements; then what the journal holds, read with the normal VFS.
    func run(_ sync: SyncMode, cutAfter: Int) throws -> Outcome {
        #expect(powerloss_register() == 0)
        powerloss_restore()
        let dir = Fixtures.temporaryDirectory("tocsin-power")
        defer { Fixtures.removeTemporary(dir) }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let journalPath = dir + "/journal.sqlite"
        let config = Fixtures.shippedConfig
        let journal = try SQLiteJournal(path: journalPath, sync: sync, vfs: POWERLOSS_VFS_NAME)
        let context = try Context(ioThreads: 1)
        let ingest = try IngestWorker(
            context: context,
            settings: .init(endpoint: "ipc://\(dir)/ingest", notifyEndpoint: "ipc://\(dir)/journal", rateLimits: .off),
            journal: journal,
            decoder: EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: config.maxFutureSeconds),
            logger: logger)
        ingest.start()
        let client = try WireClient(endpoint: "ipc://\(dir)/ingest")
        let time = WallClock.now().rfc3339
        var acknowledged = Set<String>()
        var sent = 0, replies = 0
        var cut = false
        while replies < Self.events {
            while sent < Self.events && sent - replies < 2000 {
                try client.send(TestEvents.water(id: "pl-\(sent)", level: 1.0, time: time))
                sent += 1
            }
            guard let reply = try client.reply(timeoutMilliseconds: 5000) else { break }
            replies += 1
            // Every `accepted` was sent after its commit returned: it counts, also when it arrives after the cut.
            if reply["status"] == "accepted", let id = reply["id"]?.stringValue { acknowledged.insert(id) }
            if !cut && acknowledged.count >= cutAfter {
                powerloss_cut()
                cut = true
            }
        }
        #expect(cut, "the power was never cut (\(acknowledged.count) acknowledged)")
        let stats = powerloss_get_stats()
        // The "dead" machine: stop the gateway; nothing it tries to write from here on reaches the disk.
        client.close()
        ingest.stop()
        try? journal.close()
        context.shutdown()
        context.terminate()
        powerloss_restore()

        let reopened = try SQLiteJournal(path: journalPath, sync: .full)
        defer { try? reopened.close() }
        let stored = Set(try reopened.read(after: 0, limit: Self.events + 1).map(\.eventID))
        return Outcome(acknowledged: acknowledged, stored: stored, stats: stats)
    }

    @Test func fullDurabilityLosesNothingAcknowledged() throws {
        for cutAfter in Self.cuts {
            let o = try run(.full, cutAfter: cutAfter)
            #expect(o.stats.files_opened >= 2, "the journal did not go through the shim")
            #expect(o.stats.syncs > 0)
            #expect(o.acknowledged.count >= cutAfter)
            #expect(o.lost.count == 0, "lost \(o.lost.count) of \(o.acknowledged.count) acknowledged events")
            print("power loss, full, cut after \(cutAfter): \(o.acknowledged.count) acknowledged, \(o.stored.count) stored,"
                  + " \(o.lost.count) lost, \(o.stats.discarded_writes) unsynced writes dropped")
        }
    }

    @Test func normalDurabilityLosesAcknowledgedEvents() throws {
        for cutAfter in Self.cuts {
            let o = try run(.normal, cutAfter: cutAfter)
            #expect(o.stats.files_opened >= 2, "the journal did not go through the shim")
            #expect(o.acknowledged.count >= cutAfter)
            // synchronous=NORMAL syncs the WAL only at a checkpoint: what was acknowledged since is gone.
            #expect(o.stats.discarded_writes > 0)
            #expect(o.lost.count > 0, "normal kept every acknowledged event: the control run shows nothing")
            print("power loss, normal, cut after \(cutAfter): \(o.acknowledged.count) acknowledged,"
                  + " \(o.stored.count) stored, \(o.lost.count) lost, \(o.stats.discarded_writes) unsynced writes dropped")
        }
    }
}
