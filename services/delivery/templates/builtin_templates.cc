#include "services/delivery/templates/builtin_templates.h"

#include <array>

namespace otp::delivery {
namespace {

struct Entry {
  std::string_view channel;
  std::string_view language;
  BuiltinTemplate text;
};

// Translations by native speakers' conventions for transactional messages: informal "tu" in
// Spanish (as most consumer apps), "você" implied in Brazilian Portuguese, "vous" in French,
// "Sie" in German, formal "आप" in Hindi.
constexpr std::array<Entry, 18> kTemplates = {{
    // SMS: code first (it shows in the notification preview), short.
    {"sms",
     "en",
     {"", "{{code}} is your {{brand}} code. Expires in {{minutes}} min. Do not share it."}},
    {"sms",
     "es",
     {"", "Tu código de {{brand}}: {{code}}. Caduca en {{minutes}} min. No lo compartas."}},
    {"sms",
     "pt",
     {"", "Seu código {{brand}}: {{code}}. Expira em {{minutes}} min. Não o compartilhe."}},
    {"sms",
     "fr",
     {"", "Votre code {{brand}} : {{code}}. Expire dans {{minutes}} min. Ne le partagez pas."}},
    {"sms", "de", {"", "Ihr {{brand}}-Code: {{code}}. Gültig {{minutes}} Min. Nicht weitergeben."}},
    {"sms",
     "hi",
     {"", "{{code}} आपका {{brand}} कोड है। {{minutes}} मिनट तक मान्य। किसी से साझा न करें।"}},
    // WhatsApp (Twilio WhatsApp body; Meta authentication templates carry only the code).
    {"whatsapp",
     "en",
     {"",
      "{{code}} is your {{brand}} verification code. For your security, do not share this code. It "
      "expires in {{minutes}} minutes."}},
    {"whatsapp",
     "es",
     {"",
      "{{code}} es tu código de verificación de {{brand}}. Por tu seguridad, no lo compartas. "
      "Caduca en {{minutes}} minutos."}},
    {"whatsapp",
     "pt",
     {"",
      "{{code}} é o seu código de verificação {{brand}}. Para sua segurança, não o compartilhe. "
      "Expira em {{minutes}} minutos."}},
    {"whatsapp",
     "fr",
     {"",
      "{{code}} est votre code de vérification {{brand}}. Pour votre sécurité, ne le partagez pas. "
      "Il expire dans {{minutes}} minutes."}},
    {"whatsapp",
     "de",
     {"",
      "{{code}} ist Ihr {{brand}}-Bestätigungscode. Geben Sie ihn zu Ihrer Sicherheit nicht "
      "weiter. Er ist {{minutes}} Minuten gültig."}},
    {"whatsapp",
     "hi",
     {"",
      "{{code}} आपका {{brand}} सत्यापन कोड है। अपनी सुरक्षा के लिए इसे किसी से साझा न करें। यह {{minutes}} "
      "मिनट में समाप्त हो जाएगा।"}},
    // Email: plain text; the HTML part is derived from it.
    {"email",
     "en",
     {"Your {{brand}} verification code",
      "Your {{brand}} verification code is {{code}}.\n\nIt expires in {{minutes}} minutes. Do not "
      "share this code with anyone.\n\nIf you did not request it, you can ignore this email."}},
    {"email",
     "es",
     {"Tu código de verificación de {{brand}}",
      "Tu código de verificación de {{brand}} es {{code}}.\n\nCaduca en {{minutes}} minutos. No "
      "compartas este código con nadie.\n\nSi no lo solicitaste, puedes ignorar este correo."}},
    {"email",
     "pt",
     {"Seu código de verificação {{brand}}",
      "Seu código de verificação {{brand}} é {{code}}.\n\nEle expira em {{minutes}} minutos. Não "
      "compartilhe este código com ninguém.\n\nSe você não o solicitou, ignore este e-mail."}},
    {"email",
     "fr",
     {"Votre code de vérification {{brand}}",
      "Votre code de vérification {{brand}} est {{code}}.\n\nIl expire dans {{minutes}} minutes. "
      "Ne partagez ce code avec personne.\n\nSi vous ne l'avez pas demandé, vous pouvez ignorer "
      "cet e-mail."}},
    {"email",
     "de",
     {"Ihr {{brand}}-Bestätigungscode",
      "Ihr {{brand}}-Bestätigungscode lautet {{code}}.\n\nEr ist {{minutes}} Minuten gültig. Geben "
      "Sie diesen Code an niemanden weiter.\n\nWenn Sie ihn nicht angefordert haben, können Sie "
      "diese E-Mail ignorieren."}},
    {"email",
     "hi",
     {"आपका {{brand}} सत्यापन कोड",
      "आपका {{brand}} सत्यापन कोड {{code}} है।\n\nयह {{minutes}} मिनट में समाप्त हो जाएगा। यह कोड किसी "
      "के साथ साझा न करें।\n\nयदि आपने इसका अनुरोध नहीं किया है, तो इस ईमेल को अनदेखा करें।"}},
}};

}  // namespace

const std::vector<std::string>& builtin_languages() {
  static const std::vector<std::string> kLanguages = {"en", "es", "pt", "fr", "de", "hi"};
  return kLanguages;
}

std::optional<BuiltinTemplate> builtin_template(std::string_view channel,
                                                std::string_view language) {
  for (const auto& entry : kTemplates) {
    if (entry.channel == channel && entry.language == language) return entry.text;
  }
  return std::nullopt;
}

}  // namespace otp::delivery
