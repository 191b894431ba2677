// A stand-in for the part of the EWS Managed API that scripts use to send mail, for the EWS oracle.
//
// Microsoft.Exchange.WebServices is not served by the package registry this project reaches, so the
// oracle compiles this instead: the same namespace, type and member names, and a Send() that posts a
// real SOAP CreateItem (as the Managed API does) to the local EWS fake. Only the server is redirected
// (OracleEws.Target); everything a script sets on the objects goes into the request. Written for
// smtp2graph's tests; it is not the Managed API and implements only what the oracle shapes use.
using System;
using System.Collections;
using System.Collections.Generic;
using System.Net.Http;
using System.Security;
using System.Text;

public static class OracleEws {
    // Where every send goes (the EWS fake), and the Autodiscover answer; empty: a patched script must not send here.
    public static string Target = "";
}

namespace Microsoft.Exchange.WebServices.Data {
    public enum ExchangeVersion { Exchange2007_SP1, Exchange2010, Exchange2010_SP1, Exchange2010_SP2, Exchange2013, Exchange2013_SP1, Exchange2016 }
    public enum BodyType { HTML, Text }
    public enum Importance { Low, Normal, High }
    public enum ConnectingIdType { PrincipalName, SID, SmtpAddress }

    public class ServiceRequestException : Exception {
        public ServiceRequestException(string message) : base(message) { }
    }

    public abstract class ExchangeCredentials { internal abstract string Header(); }

    public class WebCredentials : ExchangeCredentials {
        string user = "", password = "";
        internal string User { get { return user; } }
        public WebCredentials() { }
        public WebCredentials(string username, string password) { user = username; this.password = password; }
        public WebCredentials(string username, string password, string domain) { user = domain + "\\" + username; this.password = password; }
        internal override string Header() { return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password)); }
    }

    public class OAuthCredentials : ExchangeCredentials {
        string token;
        public OAuthCredentials(string token) { this.token = token; }
        internal override string Header() { return "Bearer " + token; }
    }

    public class ImpersonatedUserId {
        public ConnectingIdType IdType { get; set; }
        public string Id { get; set; }
        public ImpersonatedUserId(ConnectingIdType idType, string id) { IdType = idType; Id = id; }
    }

    public class ExchangeService {
        public ExchangeService() { }
        public ExchangeService(ExchangeVersion version) { }
        public Uri Url { get; set; }
        public ExchangeCredentials Credentials { get; set; }
        public bool UseDefaultCredentials { get; set; }
        public ImpersonatedUserId ImpersonatedUserId { get; set; }
        public void AutodiscoverUrl(string emailAddress) { AutodiscoverUrl(emailAddress, null); }
        public void AutodiscoverUrl(string emailAddress, Func<string, bool> validateRedirectionUrlCallback) {
            if (string.IsNullOrEmpty(OracleEws.Target)) { throw new ServiceRequestException("The Autodiscover service couldn't be located."); }
            Url = new Uri(OracleEws.Target);
        }
    }

    public class EmailAddress {
        public string Name { get; set; }
        public string Address { get; set; }
        public EmailAddress() { }
        public EmailAddress(string smtpAddress) { Address = smtpAddress; }
        public EmailAddress(string name, string smtpAddress) { Name = name; Address = smtpAddress; }
        public static implicit operator EmailAddress(string smtpAddress) { return new EmailAddress(smtpAddress); }
        public override string ToString() { return string.IsNullOrEmpty(Name) ? Address : Name + " <" + Address + ">"; }
    }

    public class EmailAddressCollection : IEnumerable<EmailAddress> {
        readonly List<EmailAddress> items = new List<EmailAddress>();
        public int Count { get { return items.Count; } }
        public EmailAddress this[int index] { get { return items[index]; } }
        public EmailAddress Add(string smtpAddress) { var a = new EmailAddress(smtpAddress); items.Add(a); return a; }
        public EmailAddress Add(string name, string smtpAddress) { var a = new EmailAddress(name, smtpAddress); items.Add(a); return a; }
        public void Add(EmailAddress emailAddress) { items.Add(emailAddress); }
        public void AddRange(IEnumerable<string> smtpAddresses) { foreach (var s in smtpAddresses) { Add(s); } }
        public void Clear() { items.Clear(); }
        public IEnumerator<EmailAddress> GetEnumerator() { return items.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return items.GetEnumerator(); }
    }

    public class MessageBody {
        public BodyType BodyType { get; set; }
        public string Text { get; set; }
        public MessageBody() { BodyType = BodyType.HTML; }
        public MessageBody(string text) { BodyType = BodyType.HTML; Text = text; }
        public MessageBody(BodyType bodyType, string text) { BodyType = bodyType; Text = text; }
        public static implicit operator MessageBody(string textBody) { return new MessageBody(textBody); }
        public override string ToString() { return Text ?? ""; }
    }

    public class FileAttachment {
        public string Name { get; set; }
        public string FileName { get; set; }
    }

    public class AttachmentCollection : IEnumerable<FileAttachment> {
        readonly List<FileAttachment> items = new List<FileAttachment>();
        public int Count { get { return items.Count; } }
        public FileAttachment AddFileAttachment(string fileName) { return AddFileAttachment(System.IO.Path.GetFileName(fileName), fileName); }
        public FileAttachment AddFileAttachment(string name, string fileName) { var a = new FileAttachment { Name = name, FileName = fileName }; items.Add(a); return a; }
        public IEnumerator<FileAttachment> GetEnumerator() { return items.GetEnumerator(); }
        IEnumerator IEnumerable.GetEnumerator() { return items.GetEnumerator(); }
    }

    public class EmailMessage {
        readonly ExchangeService service;
        public EmailMessage(ExchangeService service) {
            this.service = service;
            ToRecipients = new EmailAddressCollection(); CcRecipients = new EmailAddressCollection();
            BccRecipients = new EmailAddressCollection(); ReplyTo = new EmailAddressCollection();
            Attachments = new AttachmentCollection(); Importance = Importance.Normal;
        }
        public string Subject { get; set; }
        public MessageBody Body { get; set; }
        public EmailAddress From { get; set; }
        public Importance Importance { get; set; }
        public EmailAddressCollection ToRecipients { get; private set; }
        public EmailAddressCollection CcRecipients { get; private set; }
        public EmailAddressCollection BccRecipients { get; private set; }
        public EmailAddressCollection ReplyTo { get; private set; }
        public AttachmentCollection Attachments { get; private set; }

        public void Send() { Post("SendOnly"); }
        public void SendAndSaveCopy() { Post("SendAndSaveCopy"); }

        static string X(string s) { return SecurityElement.Escape(s ?? ""); }

        static string Boxes(string element, EmailAddressCollection addresses) {
            if (addresses.Count == 0) { return ""; }
            var b = new StringBuilder("<t:" + element + ">");
            foreach (var a in addresses) {
                b.Append("<t:Mailbox>" + (string.IsNullOrEmpty(a.Name) ? "" : "<t:Name>" + X(a.Name) + "</t:Name>") +
                         "<t:EmailAddress>" + X(a.Address) + "</t:EmailAddress></t:Mailbox>");
            }
            return b.Append("</t:" + element + ">").ToString();
        }

        void Post(string disposition) {
            if (Attachments.Count > 0) { throw new NotSupportedException("the oracle stand-in sends no attachments"); }
            if (service == null || service.Url == null) { throw new ServiceRequestException("The Url property on the ExchangeService object must be set."); }
            if (string.IsNullOrEmpty(OracleEws.Target)) { throw new ServiceRequestException("oracle: this process must not send through EWS"); }
            var body = Body ?? new MessageBody("");
            var folder = disposition == "SendAndSaveCopy" ? "<m:SavedItemFolderId><t:DistinguishedFolderId Id=\"sentitems\"/></m:SavedItemFolderId>" : "";
            var from = From == null ? "" : "<t:From><t:Mailbox><t:EmailAddress>" + X(From.Address) + "</t:EmailAddress></t:Mailbox></t:From>";
            var sender = from;
            // Without a From, EWS sends as the mailbox the service acts as: the impersonated one, else the logon's.
            string actsAs = service.ImpersonatedUserId != null ? service.ImpersonatedUserId.Id
                : service.Credentials is WebCredentials && ((WebCredentials)service.Credentials).User.Contains("@") ? ((WebCredentials)service.Credentials).User : null;
            if (sender == "" && actsAs != null) {
                sender = "<t:From><t:Mailbox><t:EmailAddress>" + X(actsAs) + "</t:EmailAddress></t:Mailbox></t:From>";
            }
            var soap = "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" " +
                "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\">" +
                "<soap:Body><m:CreateItem MessageDisposition=\"" + disposition + "\">" + folder + "<m:Items><t:Message>" +
                "<t:Subject>" + X(Subject) + "</t:Subject><t:Body BodyType=\"" + body.BodyType + "\">" + X(body.Text) + "</t:Body>" +
                "<t:Importance>" + Importance + "</t:Importance>" +
                Boxes("ToRecipients", ToRecipients) + Boxes("CcRecipients", CcRecipients) + Boxes("BccRecipients", BccRecipients) +
                Boxes("ReplyTo", ReplyTo) + sender + "</t:Message></m:Items></m:CreateItem></soap:Body></soap:Envelope>";
            using (var client = new HttpClient()) {
                var request = new HttpRequestMessage(HttpMethod.Post, OracleEws.Target);
                request.Content = new StringContent(soap, Encoding.UTF8, "text/xml");
                if (service.Credentials != null) { request.Headers.TryAddWithoutValidation("Authorization", service.Credentials.Header()); }
                var response = client.Send(request);
                if ((int)response.StatusCode >= 400) {
                    throw new ServiceRequestException("The request failed. The remote server returned an error: (" + (int)response.StatusCode + ") " + response.ReasonPhrase + ".");
                }
            }
        }
    }
}
