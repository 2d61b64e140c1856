package gen

// Word lists for the synthetic company. They are fixed so that a seed always
// yields the same company; lists longer than needed are cut, shorter ones are
// extended with numbered names.

var firstNames = []string{
	"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
	"David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
	"Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra",
	"Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle",
	"Kenneth", "Dorothy", "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah",
	"Ronald", "Stephanie", "Timothy", "Rebecca", "Jason", "Sharon", "Jeffrey", "Laura", "Ryan", "Cynthia",
	"Jacob", "Kathleen", "Gary", "Amy", "Nicholas", "Shirley", "Eric", "Angela", "Jonathan", "Helen",
	"Stephen", "Anna", "Larry", "Brenda", "Justin", "Pamela", "Scott", "Nicole", "Brandon", "Emma",
	"Benjamin", "Samantha", "Samuel", "Katherine", "Gregory", "Christine", "Frank", "Debra", "Alexander", "Rachel",
	"Raymond", "Catherine", "Patrick", "Carolyn", "Jack", "Janet", "Dennis", "Ruth", "Jerry", "Maria",
	"Tyler", "Heather", "Aaron", "Diane", "Jose", "Virginia", "Adam", "Julie", "Henry", "Joyce",
	"Nathan", "Victoria", "Douglas", "Olivia", "Zachary", "Kelly", "Peter", "Christina", "Kyle", "Lauren",
	"Walter", "Joan", "Ethan", "Evelyn", "Jeremy", "Judith", "Harold", "Megan", "Keith", "Cheryl",
	"Christian", "Andrea", "Roger", "Hannah", "Noah", "Martha", "Gerald", "Jacqueline", "Carl", "Frances",
	"Terry", "Gloria", "Sean", "Ann", "Austin", "Teresa", "Arthur", "Kathryn", "Lawrence", "Sara",
	"Jesse", "Janice", "Dylan", "Jean", "Bryan", "Alice", "Joe", "Madison", "Jordan", "Doris",
	"Billy", "Abigail", "Bruce", "Julia", "Albert", "Judy", "Willie", "Grace", "Gabriel", "Denise",
	"Logan", "Amber", "Alan", "Marilyn", "Juan", "Beverly", "Wayne", "Danielle", "Roy", "Theresa",
	"Ralph", "Sophia", "Randy", "Marie", "Eugene", "Diana", "Vincent", "Brittany", "Russell", "Natalie",
	"Elijah", "Isabella", "Louis", "Charlotte", "Bobby", "Rose", "Philip", "Alexis", "Johnny", "Kayla",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
	"Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
	"Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander", "Hamilton", "Graham",
	"Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson",
	"Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens",
	"Harrison", "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen",
	"Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter",
	"Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks",
	"Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox",
	"Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens",
	"Soto", "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
	"Arnold", "Pierce", "Vazquez", "Hansen", "Peters", "Santos", "Hart", "Bradley", "Knight", "Elliott",
	"Cunningham", "Duncan", "Armstrong", "Hudson", "Carroll", "Lane", "Riley", "Andrews", "Alvarado", "Ray",
	"Delgado", "Berry", "Perkins", "Hoffman", "Johnston", "Matthews", "Pena", "Richards", "Contreras", "Willis",
	"Carpenter", "Lawrence", "Sandoval", "Guerrero", "George", "Chapman", "Rios", "Estrada", "Ortega", "Watkins",
	"Greene", "Nunez", "Wheeler", "Valdez", "Harper", "Burke", "Larson", "Santiago", "Maldonado", "Morrison",
	"Franklin", "Carlson", "Austin", "Dominguez", "Carr", "Lawson", "Jacobs", "O'Brien", "Lynch", "Singh",
	"Vega", "Bishop", "Montgomery", "Oliver", "Jensen", "Harvey", "Williamson", "Gilbert", "Dean", "Sims",
	"Espinoza", "Howell", "Li", "Wong", "Reid", "Hanson", "Le", "McCoy", "Garrett", "Burton",
	"Fuller", "Wang", "Weber", "Welch", "Rojas", "Lucas", "Marquez", "Fields", "Park", "Yang",
	"Little", "Banks", "Padilla", "Day", "Walsh", "Bowman", "Schultz", "Luna", "Fowler", "Mejia",
}

var departmentNames = []string{
	"Executive Office", "Finance", "Human Resources", "Information Technology", "Sales",
	"Marketing", "Legal", "Procurement", "Operations", "Customer Service",
	"Research and Development", "Engineering", "Manufacturing", "Supply Chain", "Logistics",
	"Facilities", "Internal Audit", "Risk Management", "Compliance", "Treasury",
	"Accounting", "Corporate Communications", "Business Development", "Product Management", "Quality Assurance",
	"Security", "Data & Analytics", "Customer Success", "Professional Services", "Training",
	"Payroll", "Tax", "Investor Relations", "Strategy", "Health and Safety",
	"Field Service", "Public Affairs", "Architecture", "Infrastructure", "Network Operations",
}

var cityNames = []string{
	"New York", "London", "Frankfurt", "Singapore", "Chicago", "Paris", "Toronto", "Sydney", "Tokyo", "Zürich",
	"São Paulo", "Mumbai", "Dublin", "Amsterdam", "Madrid", "Boston", "San Francisco", "Hong Kong", "Warsaw", "Prague",
	"Austin", "Atlanta", "Dallas", "Denver", "Seattle", "Munich", "Milan", "Stockholm", "Copenhagen", "Oslo",
	"Vienna", "Brussels", "Lisbon", "Barcelona", "Berlin", "Hamburg", "Manchester", "Edinburgh", "Montréal", "Vancouver",
	"Mexico City", "Buenos Aires", "Johannesburg", "Cape Town", "Dubai", "Bangalore", "Shanghai", "Seoul", "Melbourne", "Auckland",
	"Kraków", "Budapest", "Bucharest", "Athens", "Istanbul", "Tel Aviv", "Cairo", "Nairobi", "Lagos", "Manila",
}

var lineOfBusinessNames = []string{
	"Corporate", "Retail", "Wealth Management", "Commercial", "Technology",
	"Operations", "Consumer", "Enterprise", "Public Sector", "Global Markets",
	"Insurance", "Healthcare",
}

var subgroupSuffixes = []string{"Core", "Growth", "Shared Services", "Regional", "Digital", "Transformation"}

var jobTitles = []string{
	"Analyst", "Specialist", "Coordinator", "Associate", "Engineer", "Administrator", "Consultant",
	"Technician", "Officer", "Representative", "Planner", "Advisor", "Assistant", "Developer",
	"Architect", "Auditor", "Accountant", "Designer", "Lead", "Controller",
}

var jobLevels = []string{"I", "II", "III", "Senior"}

var empTypes = []string{"Employee", "Contractor", "Intern", "Temporary"}

var genericPrefixes = []string{"GRD", "BND", "REG", "SEG", "PRJ", "TEAM", "SITE", "UNIT", "PGM", "CLS"}

var appNames = []string{
	"Active Directory", "SAP ERP", "Workday", "Salesforce", "ServiceNow", "Oracle Financials", "Jira", "Confluence",
	"GitHub Enterprise", "AWS Console", "Azure Portal", "Concur", "Coupa", "SuccessFactors", "Tableau", "Power BI",
	"Snowflake", "Okta", "CyberArk", "Splunk", "Zendesk", "HubSpot", "Marketo", "DocuSign",
	"Box", "SharePoint", "Slack", "Zoom", "Bloomberg Terminal", "Murex", "Calypso", "Kronos",
	"ADP Payroll", "NetSuite", "Ariba", "Veeva", "Epic", "Cerner", "Guidewire", "Duck Creek",
	"Temenos", "Finastra", "Avaloq", "Murano", "Tally", "QuickBooks", "Xero", "Anaplan",
	"BlackLine", "Kyriba",
}

var appWords = []string{
	"Ledger", "Vault", "Gateway", "Portal", "Hub", "Tracker", "Console", "Studio", "Works", "Desk",
	"Bridge", "Pilot", "Stream", "Forge", "Atlas", "Beacon", "Harbor", "Summit", "Nexus", "Orbit",
}

var permissions = []string{
	"Read", "Write", "Admin", "Approver", "Viewer", "Editor", "Requester", "Reviewer",
	"Operator", "Auditor", "Super User", "Support", "Report Viewer", "Power User", "Submitter", "Owner",
}

// objects include a comma and a quote so that CSV quoting is exercised.
var permissionObjects = []string{
	"Invoices", "Payments", "Payroll", "Vendors", "Customers", "Contracts", "Reports", "Orders",
	"Tickets", "Assets", "Budgets", "Journal Entries", "Employees", "Accounts", "Invoices, Vendor",
	`"Gold" Accounts`, "Trades", "Claims", "Policies", "Repositories", "Pipelines", "Dashboards",
	"Inventory", "Shipments", "Leads", "Campaigns", "Cases", "Documents", "Schedules", "Timesheets",
}

var criticalities = []string{"Low", "Medium", "High", "Critical"}

var birthrightNames = []string{"Domain Users", "Email", "VPN", "Intranet", "Wi-Fi", "Printing", "Self Service", "Learning Portal"}
