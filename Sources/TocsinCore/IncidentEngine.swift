import Foundation

/// The serialisable state of an `IncidentEngine`: everything but the catalog and the derived indexes.
public struct IncidentEngineState: Sendable, Hashable, Codable {
    /// The highest journal sequence number applied; events at or below it are ignored (already applied).
    public var lastSeq: Int64
    /// The open incidents, by `openingSeq`.
    public var incidents: [Incident]

    public init(lastSeq: Int64 = 0, incidents: [Incident] = []) {
        self.lastSeq = lastSeq
        self.incidents = incidents
    }
}

/// Correlates events into incidents and tiers them (PROTOCOL.md "Default catalog and tiers").
///
/// Pure and deterministic: time arrives as arguments (event times, `advance(to:)`), nothing is random, and ties
/// are broken by incident number, so the same input gives the same output, also after a snapshot and restore.
///
/// An event joins the open incident of the same incident type and the same status whose centre is within the
/// type's `radiusM`, if `firstTime - windowS <= event.time <= lastTime + windowS`; when several qualify, the
/// nearest (then the oldest). Otherwise it opens a new incident `inc-<seq>`. Candidates come from a spatial grid
/// (cells of 1.25 x the radius, keyed by incident type, status and cell; the 3 x 3 neighbourhood is searched),
/// so the cost of an event does not grow with the number of open incidents. Quiet closes come from a heap of
/// deadlines, so `advance` costs O(log n) per incident it closes or re-checks, not O(open incidents).
///
/// Closed incidents leave the engine: the `closed` change carries their final state.
public struct IncidentEngine: Sendable {
    public let catalog: Catalog

    /// The highest journal sequence number applied.
    public private(set) var lastSeq: Int64
    /// Open incidents in slots; `slotOf` finds an incident's slot by number (`openingSeq`), `freeSlots` are
    /// slots to use again. (A dictionary of incidents keeps a quarter to five eighths of its buckets empty, each
    /// the size of an incident: with 100,000 open that was about 500 bytes per incident.)
    private var slots = Chunked<Incident?>()
    /// (Slots as 32-bit numbers: a table's values take 2.6 times their size at 100,000.)
    private var slotOf: [Int64: Int32] = [:]
    private var freeSlots: [Int] = []
    /// What correlation looks at, per slot, kept apart from the incidents themselves: reading an `Incident`
    /// copies it (its strings, arrays and dictionaries), which dominated `nearest`. Stale for free slots.
    private var spots = Chunked<Spot>()
    /// Spatial index of open incidents: by cell, the first of its slots; `nextInCell` links each slot to the next
    /// of its cell (-1: none). No array per cell: with incidents apart, each cell's array was an allocation of
    /// 48 bytes per incident.
    private var grid = CellTable()
    private var nextInCell = Chunked<Int32>()
    /// Quiet-close deadlines (lazy: an entry is re-checked against the incident when it comes due).
    private var quiet = MinHeap<Deadline>()
    /// The column scales of the last neighbourhoods looked up (`GridCell.scale`: a cosine per row) and the
    /// cosines of the last event latitudes.
    private var scales = NeighbourhoodScales()
    /// Per event type: its spec and its incident type's routing.
    private let routes: [String: EventRoute]
    /// Per incident type: grid group and time limits.
    private let incidentRoutes: [String: IncidentRoute]

    /// Cells are this much larger than the radius, so that the gap between the haversine distance and the
    /// grid's flat projection can never hide a candidate in the 3 x 3 neighbourhood.
    static let cellMargin = 1.25

    public init(catalog: Catalog) {
        self.catalog = catalog
        var incidentRoutes: [String: IncidentRoute] = [:]
        for (index, name) in catalog.incidents.keys.sorted().enumerated() {
            let spec = catalog.incidents[name]!
            incidentRoutes[name] = IncidentRoute(
                spec: spec, group: Int64(index), cellM: spec.radiusM * Self.cellMargin)
        }
        var routes: [String: EventRoute] = [:]
        for (name, spec) in catalog.types {
            guard let incident = incidentRoutes[spec.incident] else { continue }
            routes[name] = EventRoute(spec: spec, incident: incident)
        }
        self.routes = routes
        self.incidentRoutes = incidentRoutes
        self.lastSeq = 0
    }

    /// An engine continuing from `state` (the catalog may have changed: incidents of an incident type it no
    /// longer has stay open until they go quiet, with the default quiet period).
    public init(catalog: Catalog, state: IncidentEngineState) {
        self.init(catalog: catalog)
        lastSeq = state.lastSeq
        for incident in state.incidents where incident.isOpen {
            insert(incident)
        }
    }

    /// The state to snapshot: `init(catalog:state:)` continues exactly from it.
    public var state: IncidentEngineState {
        IncidentEngineState(lastSeq: lastSeq, incidents: openIncidents)
    }

    /// The state as JSON bytes (keys sorted: equal states give equal bytes).
    public func snapshot() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(state))
    }

    /// An engine continuing from a `snapshot()`.
    public init(catalog: Catalog, snapshot: [UInt8]) throws {
        let state = try JSONDecoder().decode(IncidentEngineState.self, from: Data(snapshot))
        self.init(catalog: catalog, state: state)
    }

    /// Open incidents, oldest first.
    public var openIncidents: [Incident] {
        slotOf.keys.sorted().map { slots[Int(slotOf[$0]!)]! }
    }

    public var openCount: Int { slotOf.count }

    /// The open incident numbered `number` (its `openingSeq`); `nil` when unknown or closed.
    public func incident(number: Int64) -> Incident? {
        guard let i = slotOf[number].map(Int.init) else { return nil }
        return slots[i]
    }

    /// The open incident `id`; `nil` when unknown or closed.
    public func incident(_ id: String) -> Incident? {
        guard let n = Incident.number(fromID: id), let i = slotOf[n].map(Int.init), let incident = slots[i], incident.id == id else {
            return nil
        }
        return incident
    }

    /// Correlates one journaled event. `seq` is its journal sequence number: it must increase; an event with a
    /// `seq` not above `lastSeq` was applied already and is ignored. Events of a type not in the catalog are
    /// ignored (the ingest decoder rejects them).
    public mutating func apply(_ event: Event, seq: Int64) -> [IncidentChange] {
        correlate(event, seq: seq, changeAlways: true)?.change.map { [$0] } ?? []
    }

    /// What `correlate(_:seq:)` did with one event.
    public struct Correlation: Sendable {
        /// The number (`openingSeq`) of the incident the event opened or joined.
        public var number: Int64
        /// The change, when the incident has a tier or had one before the event; `nil` otherwise.
        public var change: IncidentChange?
    }

    /// `apply(_:seq:)` for a caller that only passes on changes of incidents with a tier (the classify worker):
    /// the change is made only for those. An event below every tier (a city's sensors reporting normal levels,
    /// most of what arrives) then costs no copy of its incident. `nil` when the event was ignored.
    public mutating func correlate(_ event: Event, seq: Int64) -> Correlation? {
        correlate(event, seq: seq, changeAlways: false)
    }

    private mutating func correlate(_ event: Event, seq: Int64, changeAlways: Bool) -> Correlation? {
        guard seq > lastSeq else { return nil }
        lastSeq = seq
        guard let route = routes[event.type] else { return nil }
        let incidentRoute = route.incident
        let group = incidentRoute.group * 4 + Int64(event.status.index)

        if let i = nearest(to: event, group: group, route: incidentRoute) {
            // The incident is changed in place, in its slot (reading it out of the slot would copy it).
            let oldCenter = spots[i].center
            let joined = Self.join(&slots[i], event: event, spec: route.spec, catalog: catalog, changeAlways: changeAlways)
            if joined.areaChanged { slots[i]!.area = shared(slots[i]!.area) }
            spots[i] = joined.spot
            // A centre that did not move (an event at the incident's centre) keeps its cell: no cosines.
            if joined.spot.center != oldCenter {
                let oldCell = GridCell(group: group, point: oldCenter, cellM: incidentRoute.cellM)
                let newCell = GridCell(group: group, point: joined.spot.center, cellM: incidentRoute.cellM)
                if newCell != oldCell {
                    removeFromGrid(i, cell: oldCell)
                    addToGrid(i, cell: newCell)
                }
            }
            return Correlation(number: joined.spot.number, change: joined.change)
        }

        let incident = Incident(
            opening: event, seq: seq, spec: incidentRoute.spec, eventSpec: route.spec, catalog: catalog)
        insert(incident)
        let change = changeAlways || incident.tier != nil
            ? IncidentChange(kind: .opened, incident: incident, eventID: event.id) : nil
        return Correlation(number: incident.openingSeq, change: change)
    }

    private struct Joined {
        var spot: Spot
        var areaChanged: Bool
        var change: IncidentChange?
    }

    /// Adds `event` to the incident in `slot`.
    private static func join(_ slot: inout Incident?, event: Event, spec: EventTypeSpec, catalog: Catalog,
                             changeAlways: Bool) -> Joined {
        let previousTier = slot!.tier
        let previousArea = slot!.area
        slot!.absorb(event, spec: spec, catalog: catalog)
        let spot = Spot(slot!)
        var change: IncidentChange?
        if changeAlways || previousTier != nil || slot!.tier != nil {
            change = IncidentChange(kind: .updated(previousTier: previousTier), incident: slot!, eventID: event.id)
        }
        return Joined(spot: spot, areaChanged: slot!.area != previousArea, change: change)
    }

    /// Closes every open incident whose last event is at least its type's `quietS` before `now`, oldest
    /// deadline first. The incident's `closedAt` is the moment it went quiet (`lastTime + quietS`).
    public mutating func advance(to now: Timestamp) -> [IncidentChange] {
        var due: [Deadline] = []
        while let top = quiet.min, top.micros <= now.micros {
            quiet.pop()
            guard let i = slotOf[top.number].map(Int.init), let incident = slots[i] else { continue }  // closed meanwhile
            let deadline = quietDeadline(of: incident)
            if deadline.micros > now.micros {
                quiet.push(deadline)  // it had news since: check again later
            } else {
                due.append(deadline)
            }
        }
        due.sort()
        return due.compactMap { d in
            close(number: d.number, at: Timestamp(micros: d.micros), reason: .quiet)
        }
    }

    /// All-clear: closes the open incident `id` at `time`; `nil` when it is unknown or already closed.
    public mutating func close(_ id: String, at time: Timestamp) -> IncidentChange? {
        guard let n = Incident.number(fromID: id), let i = slotOf[n].map(Int.init), slots[i]?.id == id else { return nil }
        return close(number: n, at: time, reason: .allClear)
    }

    // MARK: - Internals

    private mutating func close(number: Int64, at time: Timestamp, reason: CloseReason) -> IncidentChange? {
        guard let i = slotOf.removeValue(forKey: number).map(Int.init), var incident = slots[i] else { return nil }
        slots[i] = nil
        freeSlots.append(i)
        let route = route(ofIncidentType: incident.type)
        let group = route.group * 4 + Int64(incident.status.index)
        removeFromGrid(i, cell: GridCell(group: group, point: incident.center, cellM: route.cellM))
        incident.close(at: time, reason: reason)
        return IncidentChange(kind: .closed(reason), incident: incident)
    }

    /// One stored copy of each area path the open incidents name (a city has a few hundred areas; most paths are
    /// longer than the 15 bytes a string holds inline, so each incident kept an allocation of its own).
    private var areaTexts = Set<AreaPath>()

    private mutating func shared(_ area: AreaPath) -> AreaPath { areaTexts.insert(area).memberAfterInsert }

    private mutating func insert(_ incident: Incident) {
        var incident = incident
        incident.area = shared(incident.area)
        let i: Int
        if let free = freeSlots.popLast() {
            i = free
            slots[i] = incident
            spots[i] = Spot(incident)
        } else {
            i = slots.count
            slots.append(incident)
            spots.append(Spot(incident))
            nextInCell.append(-1)
        }
        slotOf[incident.openingSeq] = Int32(i)
        let route = route(ofIncidentType: incident.type)
        if route.group >= 0 {
            let cell = GridCell(
                group: route.group * 4 + Int64(incident.status.index), point: incident.center, cellM: route.cellM)
            addToGrid(i, cell: cell)
        }
        quiet.push(quietDeadline(of: incident))
    }

    private mutating func addToGrid(_ slot: Int, cell: GridCell) {
        nextInCell[slot] = grid[cell] ?? -1
        grid[cell] = Int32(slot)
    }

    private mutating func removeFromGrid(_ slot: Int, cell: GridCell) {
        guard let head = grid[cell] else { return }
        if Int(head) == slot {
            let next = nextInCell[slot]
            grid[cell] = next < 0 ? nil : next
            return
        }
        var previous = Int(head)
        var s = nextInCell[previous]
        while s >= 0 {
            if Int(s) == slot {
                nextInCell[previous] = nextInCell[slot]
                return
            }
            previous = Int(s)
            s = nextInCell[previous]
        }
    }

    private func route(ofIncidentType type: String) -> IncidentRoute {
        incidentRoutes[type] ?? IncidentRoute.unknown
    }

    private func quietDeadline(of incident: Incident) -> Deadline {
        let quietS = route(ofIncidentType: incident.type).spec.quietS
        return Deadline(micros: incident.lastTime.adding(seconds: quietS).micros, number: incident.openingSeq)
    }

    /// The slot of the open incident the event joins, if any: nearest centre within the radius, time within the
    /// window (ties: the oldest incident).
    private mutating func nearest(to event: Event, group: Int64, route: IncidentRoute) -> Int? {
        let t = event.time.micros
        let windowMicros = Int64((route.spec.windowS * 1_000_000).rounded())
        let radius = route.spec.radiusM
        let p = event.location
        let row = GridCell.row(lat: p.lat, cellM: route.cellM)
        let rowScales = scales.around(row: row, cellM: route.cellM)
        // The event's half of every distance below, once.
        let eventCos = scales.cosine(ofLatitude: p.lat)
        var best: Int?
        var bestNumber = Int64.max
        var bestDistance = Double.infinity
        for y in (row - 1)...(row + 1) {
            let scale = y < row ? rowScales.0 : (y == row ? rowScales.1 : rowScales.2)
            let column = GridCell.column(lon: p.lon, scale: scale, cellM: route.cellM)
            for x in (column - 1)...(column + 1) {
                var next = grid[GridCell(group: group, x: x, y: y)] ?? -1
                while next >= 0 {
                    let slot = Int(next)
                    next = nextInCell[slot]
                    let candidate = spots[slot]
                    guard t >= candidate.firstMicros - windowMicros, t <= candidate.lastMicros + windowMicros else {
                        continue
                    }
                    let d = candidate.center.distance(to: p, otherCos: eventCos)
                    guard d <= radius else { continue }
                    if d < bestDistance || (d == bestDistance && candidate.number < bestNumber) {
                        best = slot
                        bestNumber = candidate.number
                        bestDistance = d
                    }
                }
            }
        }
        return best
    }
}

// MARK: - Index types

/// The part of an open incident that correlation reads.
private struct Spot: Sendable {
    var number: Int64
    var center: GeoPoint
    var firstMicros: Int64
    var lastMicros: Int64

    init(_ incident: Incident) {
        number = incident.openingSeq
        center = incident.center
        firstMicros = incident.firstTime.micros
        lastMicros = incident.lastTime.micros
    }
}

/// (Routes are objects: reading one out of its table per event copied every string and array of both specs.)
private final class IncidentRoute: Sendable {
    let spec: IncidentTypeSpec
    /// The incident type's part of the grid key; -1 for an incident type the catalog does not know.
    let group: Int64
    let cellM: Double

    init(spec: IncidentTypeSpec, group: Int64, cellM: Double) {
        self.spec = spec
        self.group = group
        self.cellM = cellM
    }

    static let unknown = IncidentRoute(
        spec: IncidentTypeSpec(name: "", category: .accident, capCategories: [.other], headline: "", instruction: ""),
        group: -1, cellM: 500 * IncidentEngine.cellMargin)
}

private final class EventRoute: Sendable {
    let spec: EventTypeSpec
    let incident: IncidentRoute

    init(spec: EventTypeSpec, incident: IncidentRoute) {
        self.spec = spec
        self.incident = incident
    }
}

private struct Deadline: Comparable, Sendable {
    var micros: Int64
    var number: Int64
    static func < (a: Deadline, b: Deadline) -> Bool {
        a.micros != b.micros ? a.micros < b.micros : a.number < b.number
    }
}

/// A grid cell: rows of `cellM` metres of latitude; in each row, columns of `cellM` metres of longitude at the
/// row's middle latitude. Keyed with the group (incident type and status), so only candidates are found.
///
/// One word: the group's low 16 bits, then the column's and the row's low 24 bits each (a grid of 2.5-m cells
/// spans the earth's 40,000 km in 16 million columns; catalog radii are tens of metres and more). Cells that the
/// truncation would make equal share one list, which only adds candidates: `nearest` checks each one's distance
/// and time. The grid's table holds 8-byte keys (24 before: 73 bytes of table per incident at 100,000).
struct GridCell: Hashable, Sendable {
    var key: UInt64

    init(group: Int64, x: Int64, y: Int64) {
        key = UInt64(truncatingIfNeeded: group) << 48 | (UInt64(truncatingIfNeeded: x) & 0xFF_FFFF) << 24
            | UInt64(truncatingIfNeeded: y) & 0xFF_FFFF
    }

    static let metresPerDegree = 6_371_008.8 * Double.pi / 180

    init(group: Int64, point: GeoPoint, cellM: Double) {
        let y = Self.row(lat: point.lat, cellM: cellM)
        self.init(group: group, x: Self.column(lon: point.lon, row: y, cellM: cellM), y: y)
    }

    @inline(__always)
    static func row(lat: Double, cellM: Double) -> Int64 {
        Int64((lat * metresPerDegree / cellM).rounded(.down))
    }

    @inline(__always)
    static func column(lon: Double, row: Int64, cellM: Double) -> Int64 {
        column(lon: lon, scale: scale(row: row, cellM: cellM), cellM: cellM)
    }

    /// How much narrower than a cell's height a degree of longitude is in `row` (its middle latitude's cosine).
    @inline(__always)
    static func scale(row: Int64, cellM: Double) -> Double {
        let middleLat = (Double(row) + 0.5) * cellM / metresPerDegree
        return max(cos(middleLat * .pi / 180), 0.01)
    }

    @inline(__always)
    static func column(lon: Double, scale: Double, cellM: Double) -> Int64 {
        Int64((lon * metresPerDegree * scale / cellM).rounded(.down))
    }
}

/// The column scales of the rows around a row for a cell size, and the cosines of event latitudes, each kept for
/// the next lookups of the last four rows and latitudes (round robin): the events of a few places come
/// interleaved (platforms' batches), and with one row kept the scales' three cosines were taken again for most
/// events, about 360 instructions of the classify thread's 5,500 per reading.
struct NeighbourhoodScales: Sendable {
    private struct Rows {
        var row = Int64.min
        var cellM = Double.nan
        var values: (Double, Double, Double) = (0, 0, 0)
    }

    private var rows = InlineArray<4, Rows>(repeating: Rows())
    private var nextRow = 0
    private var latitudes = InlineArray<4, UInt64>(repeating: Double.nan.bitPattern)
    private var cosines = InlineArray<4, Double>(repeating: .nan)
    private var nextLatitude = 0

    /// `GridCell.scale` of rows `row - 1`, `row` and `row + 1`, in that order.
    mutating func around(row: Int64, cellM: Double) -> (Double, Double, Double) {
        for k in 0..<4 where rows[k].row == row && rows[k].cellM == cellM { return rows[k].values }
        let values = (GridCell.scale(row: row - 1, cellM: cellM), GridCell.scale(row: row, cellM: cellM),
                      GridCell.scale(row: row + 1, cellM: cellM))
        rows[nextRow] = Rows(row: row, cellM: cellM, values: values)
        nextRow = (nextRow + 1) & 3
        return values
    }

    /// `cos(lat * .pi / 180)`.
    mutating func cosine(ofLatitude lat: Double) -> Double {
        let bits = lat.bitPattern
        for k in 0..<4 where latitudes[k] == bits { return cosines[k] }
        let c = cos(lat * .pi / 180)
        latitudes[nextLatitude] = bits
        cosines[nextLatitude] = c
        nextLatitude = (nextLatitude + 1) & 3
        return c
    }
}

/// The grid's table, cell -> the first slot of its list: open addressing with linear probing, Fibonacci hashing
/// of the cell's word, at most three quarters full (the room a dictionary keeps too). Correlating an event looks
/// up its 3 x 3 neighbourhood: nine lookups, which with a dictionary's hashing of each key were a tenth of the
/// classify thread.
struct CellTable: Sendable {
    private var keys: [UInt64] = []
    /// The slot per bucket; -1: the bucket is empty.
    private var heads: [Int32] = []
    private(set) var count = 0
    /// 64 - log2(buckets).
    private var shift: UInt64 = 64

    var capacity: Int { heads.count }

    @inline(__always)
    private func bucket(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    subscript(cell: GridCell) -> Int32? {
        get {
            if count == 0 { return nil }
            let mask = heads.count - 1
            var i = bucket(cell.key)
            while true {
                let head = heads[i]
                if head < 0 { return nil }
                if keys[i] == cell.key { return head }
                i = (i + 1) & mask
            }
        }
        set {
            if let newValue {
                precondition(newValue >= 0, "slots are not negative")
                insert(cell.key, newValue)
            } else {
                remove(cell.key)
            }
        }
    }

    private mutating func insert(_ key: UInt64, _ head: Int32) {
        if (count + 1) * 4 > heads.count * 3 { grow() }
        let mask = heads.count - 1
        var i = bucket(key)
        while heads[i] >= 0 {
            if keys[i] == key {
                heads[i] = head
                return
            }
            i = (i + 1) & mask
        }
        keys[i] = key
        heads[i] = head
        count += 1
    }

    /// Removes `key` and moves back the entries after it that probing would no longer reach (backward-shift
    /// deletion: no tombstones).
    private mutating func remove(_ key: UInt64) {
        if count == 0 { return }
        let mask = heads.count - 1
        var i = bucket(key)
        while true {
            if heads[i] < 0 { return }
            if keys[i] == key { break }
            i = (i + 1) & mask
        }
        var hole = i
        var j = i
        while true {
            j = (j + 1) & mask
            if heads[j] < 0 { break }
            let home = bucket(keys[j])
            // The entry at j stays when its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if stays { continue }
            keys[hole] = keys[j]
            heads[hole] = heads[j]
            hole = j
        }
        heads[hole] = -1
        count -= 1
    }

    private mutating func grow() {
        let oldKeys = keys, oldHeads = heads
        let size = max(16, heads.count * 2)
        keys = [UInt64](repeating: 0, count: size)
        heads = [Int32](repeating: -1, count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for (k, h) in zip(oldKeys, oldHeads) where h >= 0 { insert(k, h) }
    }
}

extension Status {
    /// 0, 1, 2 for actual, exercise, test.
    var index: Int {
        switch self {
        case .actual: 0
        case .exercise: 1
        case .test: 2
        }
    }
}

/// An array in chunks of 1,024 elements: it grows a chunk at a time, where an array doubles (at 100,000 open
/// incidents, room for 131,072) and copies everything on the way.
struct Chunked<Element>: Sendable where Element: Sendable {
    private static var shift: Int { 10 }
    private static var mask: Int { (1 << shift) - 1 }
    private var chunks: [[Element]] = []
    private(set) var count = 0

    subscript(i: Int) -> Element {
        get { chunks[i >> Self.shift][i & Self.mask] }
        _modify { yield &chunks[i >> Self.shift][i & Self.mask] }
    }

    mutating func append(_ e: Element) {
        if count & Self.mask == 0 {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.mask + 1)
            chunks.append(chunk)
        }
        chunks[count >> Self.shift].append(e)
        count += 1
    }
}
