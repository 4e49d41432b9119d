// What the TURN client needs from a transport (UDP datagrams or a framed TCP/TLS stream).

export interface ClientChannelEvents {
  /** One STUN message or ChannelData message. */
  packet: [data: Buffer];
  error: [err: Error];
  close: [];
}

export interface ClientChannel {
  /** Streams deliver reliably: requests are not retransmitted, ChannelData is padded. */
  readonly reliable: boolean;
  send(data: Buffer): void;
  localAddress(): { address: string; port: number };
  close(): void;
  on<K extends keyof ClientChannelEvents>(event: K, listener: (...args: ClientChannelEvents[K]) => void): this;
}
