import { escapeXml as x } from './soap.js';
import { isoSeconds, type CameraNotification } from './pull-points.js';

/** What the SOAP answers of one camera are made of. */
export interface CameraIdentity {
  name: string;
  manufacturer: string;
  model: string;
  serial: string;
  firmware: string;
  location: string;
}

export interface StreamProfile {
  token: string;
  name: string;
  width: number;
  height: number;
  fps: number;
  bitrateKbps: number;
  channel: number;
}

export const PROFILES: StreamProfile[] = [
  { token: 'MainStream', name: 'mainStream', width: 1920, height: 1080, fps: 25, bitrateKbps: 4096, channel: 101 },
  { token: 'SubStream', name: 'subStream', width: 640, height: 360, fps: 15, bitrateKbps: 512, channel: 102 },
];

export const VIDEO_SOURCE = 'VideoSource_1';

function dateTime(ms: number): string {
  const d = new Date(ms);
  return `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time><tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`;
}

export function systemDateAndTime(cameraNow: number): string {
  return `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>${dateTime(cameraNow)}</tt:UTCDateTime><tt:LocalDateTime>${dateTime(cameraNow)}</tt:LocalDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`;
}

export function deviceInformation(id: CameraIdentity): string {
  return `<tds:GetDeviceInformationResponse><tds:Manufacturer>${x(id.manufacturer)}</tds:Manufacturer><tds:Model>${x(id.model)}</tds:Model><tds:FirmwareVersion>${x(id.firmware)}</tds:FirmwareVersion><tds:SerialNumber>${x(id.serial)}</tds:SerialNumber><tds:HardwareId>${x(id.model)}</tds:HardwareId></tds:GetDeviceInformationResponse>`;
}

function capabilityElements(base: string): string {
  return (
    `<tt:Device><tt:XAddr>${base}/onvif/device_service</tt:XAddr><tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>` +
    `<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>false</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade><tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>` +
    `<tt:IO><tt:InputConnectors>0</tt:InputConnectors><tt:RelayOutputs>0</tt:RelayOutputs></tt:IO>` +
    `<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>` +
    `<tt:Events><tt:XAddr>${base}/onvif/event_service</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
    `<tt:Media><tt:XAddr>${base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>`
  );
}

export function capabilities(base: string): string {
  return `<tds:GetCapabilitiesResponse><tds:Capabilities>${capabilityElements(base)}</tds:Capabilities></tds:GetCapabilitiesResponse>`;
}

export function services(base: string, includeCapability: boolean): string {
  const service = (ns: string, path: string, caps: string) =>
    `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${base}${path}</tds:XAddr>${includeCapability ? `<tds:Capabilities>${caps}</tds:Capabilities>` : ''}<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>`;
  return (
    '<tds:GetServicesResponse>' +
    service('http://www.onvif.org/ver10/device/wsdl', '/onvif/device_service', '<tds:Capabilities><tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/><tds:Security UsernameToken="true" HttpDigest="true"/><tds:System DiscoveryResolve="false" DiscoveryBye="false" RemoteDiscovery="false"/></tds:Capabilities>') +
    service('http://www.onvif.org/ver10/media/wsdl', '/onvif/media_service', '<trt:Capabilities SnapshotUri="true" Rotation="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="2"/><trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>') +
    service('http://www.onvif.org/ver10/events/wsdl', '/onvif/event_service', '<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="4" MaxPullPoints="8"/>') +
    '</tds:GetServicesResponse>'
  );
}

/** The camera's WS-Discovery and GetScopes scopes: what it is, its name, hardware and location. */
export function scopeItems(id: CameraIdentity): string[] {
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/Profile/Streaming',
    'onvif://www.onvif.org/Profile/S',
    `onvif://www.onvif.org/name/${encodeURIComponent(id.name)}`,
    `onvif://www.onvif.org/hardware/${encodeURIComponent(id.model)}`,
    `onvif://www.onvif.org/location/${encodeURIComponent(id.location)}`,
  ];
}

export function scopes(id: CameraIdentity): string {
  return `<tds:GetScopesResponse>${scopeItems(id).map((item) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${x(item)}</tt:ScopeItem></tds:Scopes>`).join('')}</tds:GetScopesResponse>`;
}

export function hostname(id: CameraIdentity): string {
  return `<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${x(id.name.replace(/[^A-Za-z0-9-]/g, '-'))}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`;
}

export function networkInterfaces(address: string): string {
  return `<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>02:00:00:00:00:01</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info><tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>${x(address)}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`;
}

function profileBody(p: StreamProfile): string {
  return (
    `<tt:Name>${p.name}</tt:Name>` +
    `<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig_1</tt:Name><tt:UseCount>2</tt:UseCount><tt:SourceToken>${VIDEO_SOURCE}</tt:SourceToken><tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>` +
    `<tt:VideoEncoderConfiguration token="VideoEncoder_${p.channel}"><tt:Name>VideoEncoder_${p.channel}</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>` +
    `<tt:Resolution><tt:Width>${p.width}</tt:Width><tt:Height>${p.height}</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality>` +
    `<tt:RateControl><tt:FrameRateLimit>${p.fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${p.bitrateKbps}</tt:BitrateLimit></tt:RateControl>` +
    `<tt:H264><tt:GovLength>${p.fps * 2}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>` +
    `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
    `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>`
  );
}

export function profiles(): string {
  return `<trt:GetProfilesResponse>${PROFILES.map((p) => `<trt:Profiles token="${p.token}" fixed="true">${profileBody(p)}</trt:Profiles>`).join('')}</trt:GetProfilesResponse>`;
}

export function profile(p: StreamProfile): string {
  return `<trt:GetProfileResponse><trt:Profile token="${p.token}" fixed="true">${profileBody(p)}</trt:Profile></trt:GetProfileResponse>`;
}

export function videoSources(): string {
  return `<trt:GetVideoSourcesResponse><trt:VideoSources token="${VIDEO_SOURCE}"><tt:Framerate>25</tt:Framerate><tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`;
}

export function mediaUri(operation: 'GetStreamUri' | 'GetSnapshotUri', uri: string): string {
  return `<trt:${operation}Response><trt:MediaUri><tt:Uri>${x(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${operation}Response>`;
}

export const TOPICS = {
  motion: 'tns1:VideoSource/MotionAlarm',
  sceneChange: 'tns1:VideoSource/GlobalSceneChange/ImagingService',
} as const;

export function eventProperties(): string {
  const description = (isProperty: boolean) =>
    `<tt:MessageDescription IsProperty="${isProperty}"><tt:Source><tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/></tt:Source><tt:Data><tt:SimpleItemDescription Name="State" Type="xs:boolean"/></tt:Data></tt:MessageDescription>`;
  return (
    '<tev:GetEventPropertiesResponse>' +
    '<tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>' +
    '<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>' +
    `<wstop:TopicSet><tns1:VideoSource><MotionAlarm wstop:topic="true">${description(true)}</MotionAlarm><GlobalSceneChange><ImagingService wstop:topic="true">${description(true)}</ImagingService></GlobalSceneChange></tns1:VideoSource></wstop:TopicSet>` +
    '<wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>' +
    '<wsnt:TopicExpressionDialect>http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete</wsnt:TopicExpressionDialect>' +
    '<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>' +
    '<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>' +
    '</tev:GetEventPropertiesResponse>'
  );
}

export function subscriptionCreated(address: string, now: number, terminationAt: number): string {
  return `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><wsa:Address>${x(address)}</wsa:Address></tev:SubscriptionReference><wsnt:CurrentTime>${isoSeconds(now)}</wsnt:CurrentTime><wsnt:TerminationTime>${isoSeconds(terminationAt)}</wsnt:TerminationTime></tev:CreatePullPointSubscriptionResponse>`;
}

function notification(n: CameraNotification): string {
  return (
    `<wsnt:NotificationMessage><wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${n.topic}</wsnt:Topic>` +
    `<wsnt:Message><tt:Message UtcTime="${new Date(n.utcTime).toISOString()}" PropertyOperation="${n.operation}">` +
    `<tt:Source><tt:SimpleItem Name="${n.source.name}" Value="${x(n.source.value)}"/></tt:Source>` +
    `<tt:Data><tt:SimpleItem Name="${n.data.name}" Value="${x(n.data.value)}"/></tt:Data>` +
    '</tt:Message></wsnt:Message></wsnt:NotificationMessage>'
  );
}

export function pulledMessages(now: number, terminationAt: number, messages: CameraNotification[]): string {
  return `<tev:PullMessagesResponse><tev:CurrentTime>${isoSeconds(now)}</tev:CurrentTime><tev:TerminationTime>${isoSeconds(terminationAt)}</tev:TerminationTime>${messages.map(notification).join('')}</tev:PullMessagesResponse>`;
}

export function renewed(now: number, terminationAt: number): string {
  return `<wsnt:RenewResponse><wsnt:TerminationTime>${isoSeconds(terminationAt)}</wsnt:TerminationTime><wsnt:CurrentTime>${isoSeconds(now)}</wsnt:CurrentTime></wsnt:RenewResponse>`;
}

export const unsubscribed = () => '<wsnt:UnsubscribeResponse/>';
