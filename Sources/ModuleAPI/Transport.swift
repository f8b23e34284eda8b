/// Identifies one client connection for the life of the server process.
public typealias ConnectionID = UInt64

/// One accepted connection, as the kernel sees it. Every method may be called from any thread;
/// the transport hops onto its own event loop.
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
}

/// The kernel's side of a transport: called on the transport's event loop.
public protocol ConnectionHandler: AnyObject, Sendable {
    /// False refuses the connection (for example over maxClientCnxns); the transport closes it.
    func connectionOpened(_ connection: any ClientConnection) -> Bool
    func connection(_ connection: any ClientConnection, received message: InboundMessage)
    /// The connection is gone (peer closed, error, bad frame, or our close). Called once.
    func connectionClosed(_ connection: any ClientConnection)
}

/// What a transport needs to know to listen on the client port.
public struct ListenOptions: Sendable {
    public var host: String
    public var port: Int
    /// Frames longer than this close the connection (ZooKeeper's jute.maxbuffer check).
    public var frameBytesMax: Int
    /// First words of a connection that are four-letter words rather than a length prefix.
    public var fourLetterWords: Set<String>
    public var backlog: Int32

    public init(host: String, port: Int, frameBytesMax: Int, fourLetterWords: Set<String>, backlog: Int32 = 128) {
        self.host = host
        self.port = port
        self.frameBytesMax = frameBytesMax
        self.fourLetterWords = fourLetterWords
        self.backlog = backlog
    }
}

/// A network transport module (libuv, NIO, ...).
public protocol Transport: AnyObject, Sendable {
    /// Starts listening; returns once the socket is bound, so a port-in-use error surfaces here.
    func listen(_ options: ListenOptions, handler: any ConnectionHandler) throws
    /// Closes the listener and every connection, and stops the event loop.
    func shutdown()
}

public struct TransportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
