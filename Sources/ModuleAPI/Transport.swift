/// Identifies one client connection for the life of the server process.
public typealias ConnectionID = UInt64

/// One connection, as the kernel sees it: accepted on the client port, or a quorum or election
/// connection, accepted or opened by `Transport.connect`. Every method may be called from any
/// thread; the transport hops onto its own event loop.
public protocol ClientConnection: AnyObject, Sendable {
    var id: ConnectionID { get }
    /// "address:port" of the peer, as ZooKeeper's 4lw print it (without the leading slash).
    var remoteAddress: String { get }
    var remoteHost: String { get }
    /// Queues bytes for writing, in call order.
    func send(_ bytes: [UInt8])
    /// Closes after the queued bytes are written.
    func close()
    /// Stops or resumes reading (backpressure): frames already decoded are still delivered.
    func setReading(_ enabled: Bool)
}

/// What a transport hands the kernel from a connection.
public enum InboundMessage: Sendable {
    /// One complete length-prefixed frame, without its length prefix.
    case frame([UInt8])
    /// A four-letter word sent as the first bytes of a connection.
    case fourLetterWord(String)
    /// Bytes as they arrived on a raw-stream connection (quorum and election ports), in order.
    case bytes([UInt8])
}

/// The kernel's side of a transport: called on the transport's event loop.
public protocol ConnectionHandler: AnyObject, Sendable {
    /// False refuses the connection (for example over maxClientCnxns); the transport closes it.
    func connectionOpened(_ connection: any ClientConnection) -> Bool
    func connection(_ connection: any ClientConnection, received message: InboundMessage)
    /// The connection is gone (peer closed, error, bad frame, or our close). Called once.
    func connectionClosed(_ connection: any ClientConnection)
    /// An outbound connection could not be opened (refused, unreachable, resolution failed).
    /// Called once, on the transport's loop.
    func connectFailed(_ options: ConnectOptions, reason: String)
}

extension ConnectionHandler {
    /// Listeners that never connect out need not care.
    public func connectFailed(_ options: ConnectOptions, reason: String) {}
}

/// What a transport needs to know to listen on a port (client, quorum or election).
public struct ListenOptions: Sendable {
    public var host: String
    public var port: Int
    /// Frames longer than this close the connection (ZooKeeper's jute.maxbuffer check).
    public var frameBytesMax: Int
    /// First words of a connection that are four-letter words rather than a length prefix.
    public var fourLetterWords: Set<String>
    public var backlog: Int32
    /// When true, the connection's bytes are delivered as `.bytes` chunks, unframed (no length
    /// prefix, no 4lw detection; `frameBytesMax` and `fourLetterWords` are unused).
    public var rawStream: Bool

    public init(host: String, port: Int, frameBytesMax: Int, fourLetterWords: Set<String>, backlog: Int32 = 128,
                rawStream: Bool = false) {
        self.host = host
        self.port = port
        self.frameBytesMax = frameBytesMax
        self.fourLetterWords = fourLetterWords
        self.backlog = backlog
        self.rawStream = rawStream
    }
}

/// Where an outbound raw-stream connection goes.
public struct ConnectOptions: Sendable, Hashable {
    /// A host name or an IP address.
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// A network transport module (libuv, NIO, ...). One instance serves every port of a server
/// (client, quorum, election) and its outbound quorum connections, on one event loop.
public protocol Transport: AnyObject, Sendable {
    /// Starts listening; returns once the socket is bound, so a port-in-use error surfaces here.
    /// May be called more than once: each listener's connections go to its own handler.
    func listen(_ options: ListenOptions, handler: any ConnectionHandler) throws
    /// Opens an outbound raw-stream connection. On success the handler's connectionOpened is
    /// called with it (a false return closes it), then bytes arrive as `.bytes`; on failure
    /// connectFailed. May be called from any thread, before or after listen, any number of times.
    func connect(_ options: ConnectOptions, handler: any ConnectionHandler)
    /// Closes every listener and connection (connections report connectionClosed, connects still
    /// under way connectFailed) and stops the event loop. Later listens throw, later connects fail.
    func shutdown()
}

public struct TransportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
