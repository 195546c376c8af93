import Foundation
import TocsinCore

/// How hard the journal works to keep what it acknowledged.
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous=FULL`: an acknowledged event survives power loss.
    case full
    /// `synchronous=NORMAL` in WAL mode: survives a crash of the process, not of the machine.
    case normal
}

/// Whether the public endpoints are CURVE servers.
public enum SecurityMode: String, Sendable, CaseIterable {
    case none
    case curve
}

/// Security settings: the server's CURVE key pair and the client keys that may connect.
public struct SecurityConfig: Sendable {
    public var mode: SecurityMode
    /// The server's secret key (Z85). Its public key is what clients set as their server key.
    public var serverSecretKey: String?
    /// Command-center and tool keys allowed on the feed and command endpoints, by name.
    public var clients: [String: String]

    public init(mode: SecurityMode = .none, serverSecretKey: String? = nil, clients: [String: String] = [:]) {
        self.mode = mode
        self.serverSecretKey = serverSecretKey
        self.clients = clients
    }
}

/// The public endpoints (PROTOCOL.md "Endpoints") and the internal ones used between worker processes.
public struct Endpoints: Sendable {
    public var ingest: String
    public var feed: String
    public var command: String
    /// Internal, between worker processes (`tocsin worker NAME`); `tocsin run` uses `inproc://` instead.
    public var `internal`: InternalEndpoints

    public init(ingest: String = "tcp://127.0.0.1:7701", feed: String = "tcp://127.0.0.1:7702",
                command: String = "tcp://127.0.0.1:7703", internal: InternalEndpoints = InternalEndpoints()) {
        self.ingest = ingest
        self.feed = feed
        self.command = command
        self.internal = `internal`
    }
}

/// Endpoints the workers use among themselves. Only wake-ups and time travel over them: the data itself is
/// read from the shared data folder (SQLite in WAL mode allows several processes on one host).
public struct InternalEndpoints: Sendable, Hashable {
    /// PUB (ingest): "the journal grew to N".
    public var journal: String
    /// PUB (ingest): clock ticks, the pipeline's time.
    public var clock: String
    /// PUB (classify): "incident changes grew to N".
    public var incidents: String
    /// PULL (classify): all-clear requests forwarded by dispatch.
    public var control: String
    /// PUB (dispatch): "the feed grew to N", for the plan worker.
    public var warnings: String
    /// PULL (plan): task state requests forwarded by dispatch.
    public var tasks: String
    /// PUB (plan): "task outbox grew to N", for dispatch.
    public var plan: String

    public init(journal: String = "tcp://127.0.0.1:7711", clock: String = "tcp://127.0.0.1:7712",
                incidents: String = "tcp://127.0.0.1:7713", control: String = "tcp://127.0.0.1:7714",
                warnings: String = "tcp://127.0.0.1:7715", tasks: String = "tcp://127.0.0.1:7716",
                plan: String = "tcp://127.0.0.1:7717") {
        self.journal = journal
        self.clock = clock
        self.incidents = incidents
        self.control = control
        self.warnings = warnings
        self.tasks = tasks
        self.plan = plan
    }

    /// The in-process endpoints of `tocsin run`.
    public static let inProcess = InternalEndpoints(
        journal: "inproc://tocsin.journal", clock: "inproc://tocsin.clock", incidents: "inproc://tocsin.incidents",
        control: "inproc://tocsin.control", warnings: "inproc://tocsin.warnings", tasks: "inproc://tocsin.tasks",
        plan: "inproc://tocsin.plan")
}

/// A command-center operator of the HTTP API and dashboard: a bearer token bound to an area. The operator acts
/// (acknowledges, steps, closes) only within that area; what they do is audited under their name.
public struct OperatorConfig: Sendable, Hashable {
    public var name: String
    public var token: String
    public var area: AreaPath
    public init(name: String, token: String, area: AreaPath) {
        self.name = name
        self.token = token
        self.area = area
    }
}

/// The command-center HTTP server started by `tocsin run` (API, live stream, CAP feed, metrics, dashboard).
public struct HTTPConfig: Sendable, Hashable {
    /// Off: no HTTP server.
    public var enabled: Bool
    public var host: String
    /// 0 picks a free port (tests).
    public var port: Int
    public var operators: [OperatorConfig]
    public init(enabled: Bool = true, host: String = "127.0.0.1", port: Int = 7780, operators: [OperatorConfig] = []) {
        self.enabled = enabled
        self.host = host
        self.port = port
        self.operators = operators
    }
}

/// Everything `Config/tocsin.yaml` and the files it names describe.
public struct TocsinConfiguration: Sendable {
    /// The main file this was loaded from.
    public var path: String
    public var endpoints: Endpoints
    /// The data folder (journal and state). Relative paths are relative to the working directory.
    public var dataPath: String
    public var durability: Durability
    public var security: SecurityConfig
    /// Seconds an owner at each level has to acknowledge a warning before it escalates.
    public var acknowledgeTimeout: [Level: Double]
    /// Events timed further ahead than this are rejected.
    public var maxFutureSeconds: Double
    /// Per-platform ingest rate limits (`ingest.rate_limit`).
    public var rateLimits = IngestRateLimits.shipped
    public var areas: AreaTree
    public var catalog: Catalog
    /// Response plans by incident type (`plans/*.yaml`, relative to the main file).
    public var plans: [String: ResponsePlan]
    /// The HTTP server and its operators.
    public var http = HTTPConfig()

    public init(path: String = "<memory>", endpoints: Endpoints = Endpoints(), dataPath: String = ".tocsin",
                durability: Durability = .full, security: SecurityConfig = SecurityConfig(),
                acknowledgeTimeout: [Level: Double] = [.street: 300, .district: 600, .city: 900],
                maxFutureSeconds: Double = 300, areas: AreaTree, catalog: Catalog,
                plans: [String: ResponsePlan] = [:]) {
        self.path = path
        self.endpoints = endpoints
        self.dataPath = dataPath
        self.durability = durability
        self.security = security
        self.acknowledgeTimeout = acknowledgeTimeout
        self.maxFutureSeconds = maxFutureSeconds
        self.areas = areas
        self.catalog = catalog
        self.plans = plans
    }
}

/// Loads and validates the configuration. Every problem in every file is reported at once.
public enum ConfigLoader {
    /// The shipped default, relative to the working directory.
    public static let defaultPath = "Config/tocsin.yaml"

    /// Loads `path` and the area and catalog files and the plans folder it names (relative to its folder). A
    /// missing plans folder is a problem only when the `plans` key names it.
    public static func load(path: String = defaultPath) throws(ConfigError) -> TocsinConfiguration {
        let sink = ProblemSink()
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") || base.isEmpty ? p : base + "/" + p }

        var config = TocsinConfiguration(path: path, areas: AreaTree(), catalog: Catalog())
        var areasFile = "areas.yaml"
        var catalogFile = "catalog.yaml"
        var plansFolder: (String, YAMLCursor)?
        if let root = composeYAML(path: path, displayName: path, sink: sink) {
            readMain(root, into: &config, areasFile: &areasFile, catalogFile: &catalogFile, plansFolder: &plansFolder)
        }
        let areasPath = resolve(areasFile)
        if let root = composeYAML(path: areasPath, displayName: areasPath, sink: sink) {
            config.areas = AreasReader.read(root)
        }
        for op in config.http.operators where config.areas[op.area] == nil {
            sink.add(ConfigProblem(file: path, line: 1, key: "http.operators.\(op.name).area",
                                   message: "unknown area \"\(op.area)\" (not in \(areasPath))"))
        }
        checkRateLimitPlatforms(config, sink: sink)
        let catalogPath = resolve(catalogFile)
        let beforeCatalog = sink.problems.count
        if let root = composeYAML(path: catalogPath, displayName: catalogPath, sink: sink) {
            config.catalog = CatalogReader.read(root)
        }
        let catalogOK = sink.problems.count == beforeCatalog
        config.plans = PlansReader.read(
            folder: resolve(plansFolder?.0 ?? "plans"), catalog: catalogOK ? config.catalog : nil, sink: sink,
            explicit: plansFolder?.1, required: false)
        if !sink.problems.isEmpty { throw ConfigError(sink.problems) }
        return config
    }

    /// Loads a configuration whose three documents are given as text (for tests and embedded defaults).
    public static func load(main: String, areas: String, catalog: String,
                            names: (String, String, String) = ("tocsin.yaml", "areas.yaml", "catalog.yaml"))
        throws(ConfigError) -> TocsinConfiguration
    {
        let sink = ProblemSink()
        var config = TocsinConfiguration(path: names.0, areas: AreaTree(), catalog: Catalog())
        var a = "", c = ""
        var p: (String, YAMLCursor)?
        if let root = composeYAML(text: main, displayName: names.0, sink: sink) {
            readMain(root, into: &config, areasFile: &a, catalogFile: &c, plansFolder: &p)
        }
        if let root = composeYAML(text: areas, displayName: names.1, sink: sink) { config.areas = AreasReader.read(root) }
        for op in config.http.operators where config.areas[op.area] == nil {
            sink.add(ConfigProblem(file: names.0, line: 1, key: "http.operators.\(op.name).area",
                                   message: "unknown area \"\(op.area)\" (not in \(names.1))"))
        }
        checkRateLimitPlatforms(config, sink: sink)
        if let root = composeYAML(text: catalog, displayName: names.2, sink: sink) { config.catalog = CatalogReader.read(root) }
        if !sink.problems.isEmpty { throw ConfigError(sink.problems) }
        return config
    }

    static func readMain(_ root: YAMLCursor, into config: inout TocsinConfiguration,
                         areasFile: inout String, catalogFile: inout String, plansFolder: inout (String, YAMLCursor)?) {
        guard let f = root.fields(allowed: ["endpoints", "data", "durability", "security", "escalation",
                                            "areas", "catalog", "ingest", "plans", "http"]) else { return }
        if let e = f["endpoints"], let ef = e.fields(allowed: ["ingest", "feed", "command", "internal"]) {
            var pairs: [(String, WritableKeyPath<Endpoints, String>, YAMLCursor?)] = [
                ("ingest", \Endpoints.ingest, ef["ingest"]), ("feed", \.feed, ef["feed"]), ("command", \.command, ef["command"]),
            ]
            if let ic = ef["internal"], let inf = ic.fields(allowed: ["journal", "clock", "incidents", "control", "warnings", "tasks", "plan"]) {
                pairs += [
                    ("journal", \Endpoints.internal.journal, inf["journal"]), ("clock", \.internal.clock, inf["clock"]),
                    ("incidents", \.internal.incidents, inf["incidents"]), ("control", \.internal.control, inf["control"]),
                    ("warnings", \.internal.warnings, inf["warnings"]), ("tasks", \.internal.tasks, inf["tasks"]),
                ]
            }
            for (_, kp, cursor) in pairs {
                guard let c = cursor, let s = c.nonEmptyString() else { continue }
                if !isEndpoint(s) {
                    c.problem("\"\(s)\" is not a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)")
                } else {
                    config.endpoints[keyPath: kp] = s
                }
            }
        }
        if let h = f["http"] { readHTTP(h, into: &config.http) }
        if let d = f["data"]?.nonEmptyString() { config.dataPath = d }
        if let d = f["durability"]?.oneOf(Durability.self) { config.durability = d }
        if let a = f["areas"]?.nonEmptyString() { areasFile = a }
        if let c = f["catalog"]?.nonEmptyString() { catalogFile = c }
        if let pc = f["plans"], let p = pc.nonEmptyString() { plansFolder = (p, pc) }
        if let i = f["ingest"], let inf = i.fields(allowed: ["max_future", "rate_limit"]) {
            if let m = inf["max_future"]?.duration() { config.maxFutureSeconds = m }
            if let r = inf["rate_limit"] { readRateLimits(r, into: &config.rateLimits) }
        }
        if let e = f["escalation"], let ef = e.fields(allowed: ["street", "district", "city"]) {
            for level in Level.allCases {
                guard let c = ef[level.rawValue], let d = c.duration() else { continue }
                if d <= 0 { c.problem("must be longer than 0s") } else { config.acknowledgeTimeout[level] = d }
            }
        }
        if let s = f["security"], let sf = s.fields(allowed: ["mode", "server_secret_key", "clients"]) {
            if let m = sf["mode"]?.oneOf(SecurityMode.self) { config.security.mode = m }
            if let k = sf["server_secret_key"], let key = k.string() {
                if isZ85Key(key) { config.security.serverSecretKey = key } else { k.problem("expected a 40-character Z85 CURVE key") }
            }
            if let cl = sf["clients"], let entries = cl.entries() {
                for (name, value) in entries {
                    guard let key = value.string() else { continue }
                    if isZ85Key(key) { config.security.clients[name] = key } else { value.problem("expected a 40-character Z85 CURVE public key") }
                }
            }
            if config.security.mode == .curve && config.security.serverSecretKey == nil {
                s.problem("mode curve needs server_secret_key (make one with `tocsin keys generate`)")
            }
        }
    }

    /// `http: {listen: "127.0.0.1:7780" | off, operators: [{name, token, area}]}`. Areas are checked against
    /// the area tree once it is loaded (`checkOperators`).
    static func readHTTP(_ h: YAMLCursor, into http: inout HTTPConfig) {
        guard let hf = h.fields(allowed: ["listen", "operators"]) else { return }
        if let l = hf["listen"], let text = l.string() {
            if text == "off" || text == "false" {
                http.enabled = false
            } else if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                      (0...65535).contains(port), colon != text.startIndex {
                http.host = String(text[..<colon])
                http.port = port
            } else {
                l.problem("expected HOST:PORT (e.g. 127.0.0.1:7780) or off")
            }
        }
        guard let oc = hf["operators"], let items = oc.items() else { return }
        var names = Set<String>(), tokens = Set<String>()
        for item in items {
            guard let of = item.fields(allowed: ["name", "token", "area"]) else { continue }
            guard let nameC = of["name"], let name = nameC.nonEmptyString() else { item.problem("missing key \"name\""); continue }
            guard let tokenC = of["token"], let token = tokenC.string() else { item.problem("missing key \"token\""); continue }
            guard let areaC = of["area"], let areaText = areaC.string() else { item.problem("missing key \"area\""); continue }
            guard token.utf8.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace }) else {
                tokenC.problem("a token needs at least 16 printable ASCII characters"); continue
            }
            guard let area = AreaPath(areaText) else { areaC.problem("\"\(areaText)\" is not an area path"); continue }
            if !names.insert(name).inserted { nameC.problem("operator \"\(name)\" is listed twice"); continue }
            if !tokens.insert(token).inserted { tokenC.problem("two operators share this token"); continue }
            http.operators.append(OperatorConfig(name: name, token: token, area: area))
        }
    }

    static func isEndpoint(_ s: String) -> Bool {
        for scheme in ["tcp://", "ipc://", "inproc://"] where s.hasPrefix(scheme) && s.count > scheme.count {
            if scheme == "tcp://" {
                let rest = s.dropFirst(scheme.count)
                guard let colon = rest.lastIndex(of: ":") else { return false }
                let port = rest[rest.index(after: colon)...]
                return port == "*" || (Int(port).map { (0...65535).contains($0) } ?? false)
            }
            return true
        }
        return false
    }

    /// A Z85-encoded 32-byte CURVE key: 40 characters of the Z85 alphabet.
    public static func isZ85Key(_ s: String) -> Bool {
        let alphabet = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
        return s.count == 40 && s.allSatisfy { alphabet.contains($0) }
    }
}
